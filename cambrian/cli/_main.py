"""``cambrian`` — the command line.

Flags share their names with RunConfig fields: ``--max-samples`` is
``budget.max_samples`` is ``[budget] max_samples`` in ``cambrian.toml``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .. import __version__
from .._api import default_run_dir, evolve, resume
from .._config import build_config
from .._exceptions import CambrianError
from ..evaluate import describe_isolation, evaluator_isolation
from ..memory import default_memory_path
from ..models._local import DEFAULT_LOCAL_MODEL, local_model_available
from ..sandbox import diagnose
from ..task import load_task
from . import _inspect
from ._display import RunDisplay, print_summary
from ._memory import add_memory_commands, cmd_memory
from ._models import add_models_commands, cmd_models

# flag dest -> RunConfig path
_FLAGS: dict[str, tuple[str, ...]] = {
    "max_samples": ("budget", "max_samples"),
    "max_wall_time": ("budget", "max_wall_time_s"),
    "target_score": ("budget", "target_score"),
    "max_cost": ("budget", "max_cost"),
    "max_tokens": ("budget", "max_tokens"),
    "proposals": ("concurrency", "proposals"),
    "evaluations": ("concurrency", "evaluations"),
    "seed": ("seed",),
    "islands": ("archive", "islands"),
    "selection": ("archive", "selection"),
    "timeout": ("evaluator", "limits", "timeout_s"),
    "memory_enabled": ("memory", "enabled"),
    "memory_path": ("memory", "path"),
    "recall": ("memory", "recall"),
}


def _budget_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-samples", type=int, help="proposals to make (seed not counted)")
    p.add_argument("--max-wall-time", type=float, metavar="SECONDS", help="wall-clock budget")
    p.add_argument("--target-score", type=float, help="stop when a correct program reaches it")
    p.add_argument("--max-cost", type=float, metavar="DOLLARS", help="model spend budget")
    p.add_argument(
        "--max-tokens", type=int, metavar="TOKENS", help="model token budget (prompt + completion)"
    )
    p.add_argument("--proposals", type=int, help="concurrent proposals")
    p.add_argument("--evaluations", type=int, help="concurrent evaluations")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="per-evaluation time limit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cambrian", description="Evolve programs: propose, verify in a sandbox, keep the best."
    )
    parser.add_argument("--version", action="version", version=f"cambrian {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start an evolution on a task directory")
    run.add_argument("task_dir", type=Path)
    run.add_argument("--run-dir", type=Path, help="where the run database goes")
    run.add_argument(
        "--model",
        action="append",
        help="model spec: provider/model (openai/gpt-5-mini, anthropic/claude-…,"
        " openai-compatible/NAME@http://host:port/v1, local/NAME), python:module:attr or"
        " scripted:replies.json, or none (the built-in numeric_mutation operator). Default:"
        " the embedded local LLM when installed (cambrian models install), else none."
        " Repeat to let a bandit choose among several models. Env: CAMBRIAN_MODEL",
    )
    run.add_argument("--seed", type=int, help="random seed")
    run.add_argument("--islands", type=int, help="number of islands")
    run.add_argument("--selection", help="parent selection strategy")
    run.add_argument(
        "--memory",
        dest="memory_path",
        metavar="PATH",
        help="the memory file runs share (default: $CAMBRIAN_MEMORY, else"
        " ~/.local/share/cambrian/memory.db)",
    )
    run.add_argument(
        "--no-memory",
        dest="memory_enabled",
        action="store_const",
        const=False,
        help="run without memory: recall no programs, use and write no lessons",
    )
    run.add_argument(
        "--recall",
        type=int,
        metavar="N",
        help="best programs of earlier runs of this task to start from (default 2; 0: none)",
    )
    _budget_flags(run)

    res = sub.add_parser("resume", help="continue a stopped or killed run")
    res.add_argument("run_dir", type=Path)
    _budget_flags(res)

    st = sub.add_parser("status", help="progress, best score and failure kinds of a run")
    st.add_argument("run_dir", type=Path)
    st.add_argument("--json", action="store_true", help="machine-readable output")

    best = sub.add_parser("best", help="print or write the best program")
    best.add_argument("run_dir", type=Path)
    best.add_argument("--out", type=Path, help="write the program's files under this directory")

    doc = sub.add_parser("doctor", help="what isolation, models and extras this machine has")
    doc.add_argument("--json", action="store_true", help="machine-readable output")

    add_models_commands(sub)
    add_memory_commands(sub)

    exp = sub.add_parser("export", help="all candidates with lineage, as JSON lines")
    exp.add_argument("run_dir", type=Path)
    exp.add_argument("--out", type=Path, help="output file (default: stdout)")
    exp.add_argument("--no-code", action="store_true", help="leave program files out")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dest, path in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


_BUILT_IN = ("none", "numeric_mutation")


def _choose_model(requested: str | None) -> tuple[str | None, str]:
    """The model spec to use and how to describe the proposer.

    With no ``--model`` (and no CAMBRIAN_MODEL), the embedded local LLM is the default
    when it is installed; otherwise the built-in model-free operator.
    """
    if requested is not None and requested not in _BUILT_IN:
        return requested, requested
    if requested is None and local_model_available():
        spec = f"local/{DEFAULT_LOCAL_MODEL}"
        return spec, f"{spec} (embedded LLM on the CPU; --model none for numeric_mutation)"
    hint = "" if requested else "; `cambrian models install` adds an embedded LLM"
    return None, f"numeric_mutation (built-in, no LLM: perturbs numeric literals{hint})"


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    task = load_task(args.task_dir)
    run_dir = args.run_dir or default_run_dir(task.name)
    requested = args.model or [os.environ.get("CAMBRIAN_MODEL") or None]
    if len(requested) > 1:
        model: str | list[str] | None = list(requested)
        proposer = f"ensemble of {', '.join(requested)}"
    else:
        model, proposer = _choose_model(requested[0])
    console.print(
        f"[bold]Cambrian {__version__}[/] — task [bold]{task.name}[/] ({task.format} format)"
    )
    console.print(f"proposer: {proposer}")
    isolation = describe_isolation()
    style = "red" if isolation.startswith("NO SANDBOX") else "dim"
    console.print(f"isolation: [{style}]{escape(isolation)}[/]")
    if evaluator_isolation(task) == "shared":
        console.print(
            "[yellow]weaker isolation:[/] this evaluator runs candidate code itself, so the"
            " candidate shares its sandbox and can read the task directory; use"
            " cambrian.run_candidate in the evaluator to keep candidates apart"
        )
    console.print(f"run dir: {run_dir}")
    overrides = _overrides(args)
    memory = build_config(task.settings, overrides).memory
    if memory.enabled:
        where = memory.path or default_memory_path()
        console.print(f"memory: {where} (recall {memory.recall}; --no-memory to run without)")
    else:
        console.print("memory: off")
    max_samples = overrides.get("budget", {}).get("max_samples", 100)
    with RunDisplay(console, max_samples) as display:
        summary = evolve(
            args.task_dir,
            model=model,
            run_dir=run_dir,
            config=overrides,
            on_event=display,
            handle_signals=True,
        )
    print_summary(console, summary)
    return 0


def _cmd_resume(args: argparse.Namespace, console: Console) -> int:
    overrides = _overrides(args)
    console.print(f"[bold]Cambrian {__version__}[/] — resuming {args.run_dir}")
    max_samples = overrides.get("budget", {}).get("max_samples")
    with RunDisplay(console, max_samples) as display:
        summary = resume(args.run_dir, config=overrides, on_event=display, handle_signals=True)
    print_summary(console, summary)
    return 0


def _cmd_status(args: argparse.Namespace, console: Console) -> int:
    info = _inspect.status(args.run_dir)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    state = "running" if info["live"] else "stopped"
    best = "-" if info["best_score"] is None else f"{info['best_score']:.6g}"
    seed = "-" if info["seed_score"] is None else f"{info['seed_score']:.6g}"
    of = f"/{info['max_samples']}" if info["max_samples"] is not None else ""
    console.print(f"[bold]{info['task']}[/] — {state} — {info['run_dir']}")
    console.print(f"samples {info['samples']}{of}; programs by status: {info['by_status']}")
    reached = (
        f", first reached after {info['samples_to_best']} samples"
        if info["samples_to_best"] is not None
        else ""
    )
    console.print(
        f"seed score {seed}; best score [bold green]{best}[/] (program {info['best_id']}{reached})"
    )
    console.print(f"improvements over parent: {info['improvements_over_parent']}")
    console.print(f"failures: {info['failures'] or 'none'}")
    console.print(f"operators: {info['operators']}")
    console.print(
        f"tokens {info['prompt_tokens']} in / {info['completion_tokens']} out; cost ${info['cost']:.4f};"
        f" elapsed {info['elapsed_s'] or 0:.1f}s"
    )
    for name, spend in info["by_model"].items():
        per = spend["cost_per_improvement"]
        console.print(
            f"  {escape(name)}: {spend['proposals']} proposals, {spend['improvements']}"
            f" improvements, {spend['prompt_tokens']}+{spend['completion_tokens']} tokens,"
            f" ${spend['cost']:.4f}"
            + (f" (${per:.4f} per improvement)" if per else "")
            + (f"; {spend['other_calls']} memory calls" if spend.get("other_calls") else "")
        )
    return 0


def _cmd_best(args: argparse.Namespace, console: Console) -> int:
    pid, score, files = _inspect.best_files(args.run_dir)
    if args.out:
        for rel, text in files.items():
            target = args.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        console.print(f"best program {pid} (score {score:.6g}) written to {args.out}")
        return 0
    for rel, text in sorted(files.items()):
        if len(files) > 1:
            print(f"# ---- {rel}")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    print(f"# best program {pid}, score {score!r}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            n = _inspect.export(args.run_dir, fh, with_code=not args.no_code)
        console.print(f"{n} candidates written to {args.out}")
    else:
        _inspect.export(args.run_dir, sys.stdout, with_code=not args.no_code)
    return 0


def _cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    import importlib.util
    import platform

    info = {"cambrian": __version__, "python": platform.python_version(), **diagnose()}
    for extra, module in (("openai", "openai"), ("anthropic", "anthropic"), ("local", "xllamacpp")):
        found = importlib.util.find_spec(module) is not None
        info[f"extra {extra}"] = (
            "installed" if found else f"not installed (pip install 'cambrian[{extra}]')"
        )
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        weak = key == "isolation" and value.startswith("NO SANDBOX")
        console.print(
            f"[bold]{key:>18}[/]  " + (f"[red]{escape(value)}[/]" if weak else escape(value))
        )
    return 0


_COMMANDS = {
    "run": _cmd_run,
    "resume": _cmd_resume,
    "status": _cmd_status,
    "best": _cmd_best,
    "export": _cmd_export,
    "doctor": _cmd_doctor,
    "models": cmd_models,
    "memory": cmd_memory,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cambrian`` command."""
    args = _parser().parse_args(argv)
    # best/export write data to stdout, so their chatter goes to stderr. soft_wrap keeps
    # paths and messages on one line when the output is a log rather than a terminal.
    console = Console(stderr=args.command in ("best", "export"), soft_wrap=True)
    errors = Console(stderr=True, soft_wrap=True)
    try:
        return _COMMANDS[args.command](args, console)
    except CambrianError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    except KeyboardInterrupt:
        errors.print("[yellow]interrupted; the run can be resumed with `cambrian resume`[/]")
        return 130
    except BrokenPipeError:
        # `cambrian export RUN | head`: the reader left; don't print a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

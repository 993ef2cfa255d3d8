"""What an EVOLVE-BLOCK owes the code around it, and a check that a candidate still pays.

A block that defines ``construct_centers()`` for a ``run_packing()`` outside it must
keep defining it: small models often rename or drop such names, and the candidate then
crashes in the evaluator. For Python sources the interface is read with :mod:`ast`
(never executed), shown to the model in the prompt, and checked before a candidate
costs an evaluation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._exceptions import EditError
from ._markers import evolvable_paths, evolve_regions

if TYPE_CHECKING:
    # Runtime import would be circular: cambrian.task imports cambrian.edits.
    from ..task import Files

_MAX_PARSE_CHARS = 400_000  # larger sources are left to the evaluator


@dataclass(frozen=True)
class BlockInterface:
    """Names a file's EVOLVE-BLOCKs must define, and names they may use.

    Attributes:
        required: ``name -> signature`` for names defined in a block and used outside it.
        available: Top-level names defined outside the blocks (imports, constants, functions).
    """

    required: dict[str, str]
    available: tuple[str, ...]


def _parse(text: str) -> ast.Module | None:
    if len(text) > _MAX_PARSE_CHARS:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    names: list[str] = []
    for target in targets:
        names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _signature(node: ast.stmt, name: str) -> str:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"{name}({ast.unparse(node.args)})"
    if isinstance(node, ast.ClassDef):
        return f"class {name}"
    return name


def _in_block(line: int, regions: list[tuple[int, int]]) -> bool:
    # ast lines are 1-based; region bodies are 0-based, half-open.
    return any(first < line <= stop for first, stop in regions)


def block_interface(text: str) -> BlockInterface | None:
    """The interface of ``text``'s EVOLVE-BLOCKs, or None when it cannot be read as Python."""
    tree = _parse(text)
    if tree is None:
        return None
    regions = evolve_regions(text)
    inside: dict[str, str] = {}
    outside: list[str] = []
    for node in tree.body:
        for name in _bound_names(node):
            if _in_block(node.lineno, regions):
                inside.setdefault(name, _signature(node, name))
            elif name not in outside:
                outside.append(name)
    used_outside = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and not _in_block(n.lineno, regions)
    }
    required = {name: sig for name, sig in inside.items() if name in used_outside}
    return BlockInterface(required, tuple(n for n in outside if not n.startswith("__")))


def describe_interface(text: str) -> str:
    """One or two sentences for the prompt; empty when there is nothing to say."""
    iface = block_interface(text)
    if iface is None:
        return ""
    parts = []
    if iface.required:
        sigs = ", ".join(f"`{s}`" for s in iface.required.values())
        parts.append(
            f"Code outside the block calls these, so the block must still define them: {sigs}."
        )
    if iface.available:
        names = ", ".join(f"`{n}`" for n in iface.available[:20])
        parts.append(f"Already defined outside the block, usable inside it: {names}.")
    return "\n".join(parts)


def check_interface(parent: Files, child: Files) -> None:
    """Raise EditError when ``child`` breaks a Python file's block interface.

    Checks, for each evolvable ``.py`` file the parent could parse: the child still
    parses, and it still defines at module level every name the parent's blocks
    defined for the code outside them.

    Raises:
        EditError: With a message for the model naming the file and what is missing.
    """
    for path in evolvable_paths(parent):
        if not path.endswith(".py") or path not in child or child[path] == parent[path]:
            continue
        iface = block_interface(parent[path])
        if iface is None:
            continue
        text = child[path]
        try:
            tree = ast.parse(text) if len(text) <= _MAX_PARSE_CHARS else None
        except SyntaxError as exc:
            raise EditError(
                f"Your new {path} is not valid Python: {exc.msg} at line {exc.lineno}:"
                f"\n  {(exc.text or '').rstrip()}\nReply again with code that parses."
            ) from None
        except (ValueError, RecursionError, MemoryError):
            continue
        if tree is None:
            continue
        defined = {name for node in tree.body for name in _bound_names(node)}
        missing = [sig for name, sig in iface.required.items() if name not in defined]
        if missing:
            raise EditError(
                f"Your new {path} no longer defines {', '.join(missing)}, which the code "
                "outside the EVOLVE-BLOCK calls. Keep these names (with compatible "
                "arguments) and reply again."
            )

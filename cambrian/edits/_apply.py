"""Apply a model reply to an artifact: all edits or none, and only inside EVOLVE-BLOCKs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cambrian._exceptions import ApplyError, TaskError
from cambrian.edits import _messages as msg
from cambrian.edits._lines import Doc, split_lf
from cambrian.edits._markers import mentions_marker, scan_regions
from cambrian.edits._match import Fuzz, Match, Region, closest, find, lead
from cambrian.edits._parse import FullRewrite, Mode, SearchReplace, parse_reply

if TYPE_CHECKING:
    # Runtime import would be circular: cambrian.task imports cambrian.edits.
    from cambrian.task._task import Files


@dataclass(frozen=True)
class AppliedEdit:
    """A reply turned into a new artifact.

    Attributes:
        files: The new artifact; files the reply did not touch are copied unchanged.
        format: ``"diff"`` for SEARCH/REPLACE blocks, ``"rewrite"`` for fenced code.
        blocks: Number of SEARCH/REPLACE blocks (or rewritten files) applied.
        fuzz: Per SEARCH/REPLACE block, the ladder rung that matched: ``"exact"``,
            ``"whitespace"``, ``"indent"`` or ``"blank_line"``; empty for rewrites.
        changed: Sorted paths whose text changed.
    """

    files: Files
    format: Literal["diff", "rewrite"]
    blocks: int
    fuzz: list[Fuzz]
    changed: list[str]


def _resolve(path: str, files: Files) -> str | None:
    """Map the path a model wrote to a key of ``files``."""
    if path in files:
        return path
    # Models drop or add leading directories ("src/main.py" for "main.py"); accept
    # that only when it names one file unambiguously.
    hits = [k for k in files if k.endswith("/" + path) or path.endswith("/" + k)]
    return hits[0] if len(hits) == 1 else None


def _regions(doc: Doc, path: str) -> list[Region]:
    regions, problem = scan_regions(doc.lines)
    if problem is not None:
        # The artifact came from the task or an accepted candidate: broken markers
        # there are not the model's doing.
        raise TaskError(f"{path!r}: unbalanced EVOLVE-BLOCK markers: {problem}")
    return regions


def _editable_files(files: Files) -> str:
    names = [p for p in sorted(files) if scan_regions(Doc.parse(files[p]).lines)[0]]
    return ", ".join(repr(p) for p in names) or "none"


def _unknown_path(path: str, files: Files, what: str) -> str:
    return (
        f"{what}: file {path!r} does not exist. Valid paths: "
        f"{', '.join(repr(p) for p in sorted(files))}; editable (with EVOLVE-BLOCKs): "
        f"{_editable_files(files)}."
    )


def _no_blocks(path: str, files: Files, what: str) -> str:
    return (
        f"{what}: {path!r} has no EVOLVE-BLOCK, so it cannot be edited. Editable files: "
        f"{_editable_files(files)}."
    )


def _finish(
    files: Files,
    docs: dict[str, Doc],
    fmt: Literal["diff", "rewrite"],
    count: int,
    fuzz: list[Fuzz],
) -> AppliedEdit:
    new = dict(files)
    for path, doc in docs.items():
        new[path] = doc.text()
    changed = sorted(p for p in docs if new[p] != files[p])
    if not changed:
        raise ApplyError(
            "The edit makes no change: the result is identical to the current program. "
            "Propose a real modification inside an EVOLVE-BLOCK.",
            kind="edit_error",
        )
    return AppliedEdit(files=new, format=fmt, blocks=count, fuzz=fuzz, changed=changed)


def _apply_blocks(files: Files, blocks: tuple[SearchReplace, ...]) -> AppliedEdit:
    docs: dict[str, Doc] = {}
    details: list[str] = []
    failed: list[int] = []
    matched: list[int] = []
    fuzz: list[Fuzz] = []
    scope = False
    for block in blocks:
        what = f"Block {block.index}"
        path = _resolve(block.path, files)
        if path is None:
            details.append(_unknown_path(block.path, files, what))
            failed.append(block.index)
            continue
        doc = docs.setdefault(path, Doc.parse(files[path]))
        regions = _regions(doc, path)
        search, replace = split_lf(block.search), split_lf(block.replace)
        problem: str | None = None
        if not regions:
            scope = True
            problem = _no_blocks(path, files, what)
        elif not any(line.strip() for line in search):
            problem = (
                f"{what} ({path}): the SEARCH section is empty. Copy the lines to change "
                "(inside an EVOLVE-BLOCK) into it; to add code, SEARCH for the lines next "
                "to where it goes and repeat them in REPLACE."
            )
        elif mentions_marker(block.replace):
            scope = True
            problem = (
                f"{what} ({path}): the REPLACE contains an EVOLVE-BLOCK marker. Markers "
                "cannot be added, moved or removed; edit only the lines between them."
            )
        if problem is not None:
            details.append(problem)
            failed.append(block.index)
            continue
        result = find(doc.lines, regions, search, replace)
        if isinstance(result, Match):
            doc.lines[result.start : result.stop] = result.lines
            matched.append(block.index)
            fuzz.append(result.fuzz)
            continue
        scope = scope or result.reason == "outside"
        hint = closest(doc.lines, regions, search) if result.reason == "no_match" else None
        details.append(msg.miss(block.index, path, search, result, doc.lines, regions, hint))
        failed.append(block.index)
    if failed:
        raise ApplyError(
            msg.failed_blocks(details, failed, matched, len(blocks)),
            kind="scope_violation" if scope else "edit_error",
        )
    return _finish(files, docs, "diff", len(blocks), fuzz)


def _outside(lines: list[str], regions: list[Region]) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside the region bodies, ends trimmed."""
    inside = {i for a, b in regions for i in range(a, b)}
    kept = [(i + 1, line.rstrip()) for i, line in enumerate(lines) if i not in inside]
    # Fenced code loses blank lines at the file's ends; they carry no meaning.
    while kept and not kept[0][1]:
        kept.pop(0)
    while kept and not kept[-1][1]:
        kept.pop()
    return kept


def _scope_error(text: str) -> ApplyError:
    return ApplyError(msg.bounded(text), kind="scope_violation")


def _rewrite_whole(doc: Doc, regions: list[Region], code: list[str], path: str) -> None:
    """Take the region bodies of a whole-file rewrite, after checking the rest is intact."""
    new_regions, problem = scan_regions(code)
    if problem is not None:
        raise _scope_error(
            f"The EVOLVE-BLOCK markers in your code for {path} are broken ({problem}). "
            "Keep every marker line exactly where it is."
        )
    if len(new_regions) == 1 and len(regions) == 1 and not _outside(code, new_regions)[1:-1]:
        first, last = new_regions[0][0] - 1, new_regions[0][1]
        if not any(line.strip() for line in code[:first] + code[last + 1 :]):
            # Only the block itself, markers included: a body rewrite.
            a, b = regions[0]
            doc.lines[a:b] = code[new_regions[0][0] : new_regions[0][1]]
            return
    if len(new_regions) != len(regions):
        raise _scope_error(
            f"Your code for {path} has {len(new_regions)} EVOLVE-BLOCK(s) but the file has "
            f"{len(regions)}. Keep every marker line and all code outside the blocks "
            "unchanged."
        )
    old_out, new_out = _outside(doc.lines, regions), _outside(code, new_regions)
    known = {line.strip() for _, line in old_out}
    added = next(((n, line) for n, line in new_out if line.strip() not in known), None)
    if added is not None:
        raise _scope_error(
            f"Your rewrite of {path} adds or changes code outside the EVOLVE-BLOCKs: line "
            f"{added[0]} of your code,\n  {added[1]!r}\nis not in the current file outside "
            "the blocks. Only lines between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END may "
            "change; put new code inside the block, or reply with the block body only."
        )
    # Every line around the blocks is one the file already has there (a reply may
    # echo an import or the entry point and leave out the rest): only the bodies are new.
    for (a, b), (na, nb) in reversed(list(zip(regions, new_regions, strict=True))):
        doc.lines[a:b] = code[na:nb]


def _bare_marker_body(code: list[str]) -> list[str] | None:
    """The body of a block rewrite whose markers lost their comment prefix, or None.

    Small models often echo the block as ``EVOLVE-BLOCK-START`` ... ``EVOLVE-BLOCK-END``
    on bare lines. When those two lines enclose everything else in the reply, the
    lines between them are plainly the new block body.
    """
    marks = [i for i, line in enumerate(code) if "EVOLVE-BLOCK" in line]
    if len(marks) != 2:
        return None
    start, end = marks
    if code[start].strip() != "EVOLVE-BLOCK-START" or code[end].strip() != "EVOLVE-BLOCK-END":
        return None
    if any(line.strip() for line in code[:start] + code[end + 1 :]):
        return None
    return code[start + 1 : end]


def _indent_like_marker(code: list[str], marker: str) -> list[str]:
    """Indent a flush-left body to its block's marker when the block sits in a method.

    Fenced code naturally starts at column 0; a block nested in a function needs the
    marker line's indentation, and adding it uniformly keeps the relative structure.
    """
    indent = lead(marker)
    nonblank = [line for line in code if line.strip()]
    if not indent or all(lead(line) for line in nonblank):
        return code
    return [indent + line if line.strip() else line for line in code]


def _apply_rewrites(files: Files, rewrites: tuple[FullRewrite, ...]) -> AppliedEdit:
    docs: dict[str, Doc] = {}
    for rw in rewrites:
        path = _resolve(rw.path, files)
        if path is None:
            raise ApplyError(_unknown_path(rw.path, files, "Your rewrite"), kind="edit_error")
        doc = docs.setdefault(path, Doc.parse(files[path]))
        regions = _regions(doc, path)
        if not regions:
            raise _scope_error(_no_blocks(path, files, "Your rewrite"))
        code = split_lf(rw.code)
        body = _bare_marker_body(code) if len(regions) == 1 else None
        if body is not None:
            a, b = regions[0]
            doc.lines[a:b] = _indent_like_marker(body, doc.lines[a - 1])
        elif mentions_marker(rw.code):
            _rewrite_whole(doc, regions, code, path)
        elif len(regions) == 1:
            a, b = regions[0]
            doc.lines[a:b] = _indent_like_marker(code, doc.lines[a - 1])
        else:
            raise ApplyError(
                f"{path} has {len(regions)} EVOLVE-BLOCKs, so a bare code block is "
                "ambiguous. Send the whole file (all markers and the code outside the "
                "blocks unchanged) or use SEARCH/REPLACE blocks.",
                kind="edit_error",
            )
    return _finish(files, docs, "rewrite", len(rewrites), [])


def apply_reply(
    files: Files,
    reply: str,
    *,
    default_path: str,
    mode: Mode = "auto",
) -> AppliedEdit:
    """Turn a model reply into a new artifact.

    Args:
        files: The parent artifact; never mutated.
        reply: The model's reply text.
        default_path: File targeted by edits that name none (usually the entry).
        mode: ``"diff"``, ``"rewrite"`` or ``"auto"`` (see :func:`parse_reply`).

    Returns:
        The new artifact and how it was obtained.

    Raises:
        ParseError: The reply holds no usable edit.
        ApplyError: An edit does not match (``kind="edit_error"``) or reaches outside
            the EVOLVE-BLOCKs (``kind="scope_violation"``); nothing is applied.
        TaskError: A file of ``files`` has unbalanced markers (not the model's fault).
    """
    parsed = parse_reply(reply, default_path=default_path, mode=mode, paths=list(files))
    if parsed.format == "diff":
        return _apply_blocks(files, parsed.blocks)
    return _apply_rewrites(files, parsed.rewrites)

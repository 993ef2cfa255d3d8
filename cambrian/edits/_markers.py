"""EVOLVE-BLOCK markers: which lines of a file a model may edit.

A marker is a line whose comment holds ``EVOLVE-BLOCK-START`` or ``EVOLVE-BLOCK-END``,
in any common comment syntax (``#``, ``//``, ``--``, ``/* */``, ``<!-- -->``, ``;``,
``%``). The editable lines of a block are those strictly between its two markers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cambrian._exceptions import TaskError
from cambrian.edits._lines import Doc

if TYPE_CHECKING:
    # Runtime import would be circular: cambrian.task imports cambrian.edits.
    from cambrian.task._task import Files

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"

# The token must follow a comment opener, so a string literal that merely mentions
# the word (a prompt, a docstring) is not taken for a marker.
_MARKER = re.compile(r"(?:#|//|--|/\*|<!--|;|%)\s*EVOLVE-BLOCK-(START|END)\b")


def marker_kind(line: str) -> str | None:
    """Return ``"START"``/``"END"`` when ``line`` is a marker line, else None."""
    found = {m.group(1) for m in _MARKER.finditer(line)}
    if len(found) == 1:
        return found.pop()
    return "BOTH" if found else None


def mentions_marker(text: str) -> bool:
    """True when ``text`` contains a marker token anywhere, commented or not."""
    return START in text or END in text


def scan_regions(lines: list[str]) -> tuple[list[tuple[int, int]], str | None]:
    """Find the editable ranges of ``lines``.

    Returns:
        ``(regions, problem)``: half-open ``(first, stop)`` line ranges, and a
        description of the first marker problem (``None`` when the markers balance).
    """
    regions: list[tuple[int, int]] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        kind = marker_kind(line)
        if kind is None:
            continue
        if kind == "BOTH":
            return regions, f"line {i + 1} holds both {START} and {END}"
        if kind == "START":
            if open_at is not None:
                return regions, (
                    f"line {i + 1}: {START} inside the block opened on line {open_at + 1} "
                    "(blocks cannot nest)"
                )
            open_at = i
        else:
            if open_at is None:
                return regions, f"line {i + 1}: {END} without a matching {START}"
            regions.append((open_at + 1, i))
            open_at = None
    if open_at is not None:
        return regions, f"line {open_at + 1}: {START} is never closed by {END}"
    return regions, None


def evolve_regions(text: str, path: str = "<text>") -> list[tuple[int, int]]:
    """Return the editable line ranges of ``text``.

    Args:
        text: File text.
        path: Name used in the error message.

    Returns:
        One ``(first, stop)`` pair per EVOLVE-BLOCK, 0-based and half-open: the
        editable lines are ``lines[first:stop]``; marker lines are excluded, and an
        empty block has ``first == stop``.

    Raises:
        TaskError: The markers are unbalanced or nested.
    """
    regions, problem = scan_regions(Doc.parse(text).lines)
    if problem is not None:
        raise TaskError(f"{path!r}: unbalanced EVOLVE-BLOCK markers: {problem}")
    return regions


def check_markers(text: str, path: str) -> None:
    """Check that the EVOLVE-BLOCK markers of ``text`` balance and do not nest.

    Args:
        text: File text.
        path: Path named in the error message.

    Raises:
        TaskError: Naming ``path`` and the offending line.
    """
    evolve_regions(text, path)


def evolvable_paths(files: Files) -> list[str]:
    """Return the sorted paths of ``files`` that carry at least one EVOLVE-BLOCK marker.

    Args:
        files: An artifact.

    Returns:
        Sorted paths whose text has a marker line.
    """
    return sorted(
        path
        for path, text in files.items()
        if any(marker_kind(line) for line in Doc.parse(text).lines)
    )

"""Turn a model reply into typed edits: SEARCH/REPLACE blocks or whole-file rewrites.

SEARCH/REPLACE blocks follow aider's format and are read by a line state machine that
tolerates what models actually write: 5-9 marker characters, trailing spaces, blocks
inside or outside ``` fences, an optional filename line before the block. A rewrite is
a fenced code block, optionally preceded by a filename line.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from cambrian._exceptions import ParseError

Mode = Literal["auto", "diff", "rewrite"]

_HEAD = re.compile(r"^[ \t]*<{5,9}[ \t]*SEARCH>?[ \t]*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^[ \t]*={5,9}[ \t]*$")
_UPDATED = re.compile(r"^[ \t]*>{5,9}[ \t]*REPLACE[ \t]*$", re.IGNORECASE)
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^`]*$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$")
_PATH = re.compile(r"^[\w.-][\w.\-/]*\.[A-Za-z0-9_]+$")
_LABEL = re.compile(r"^(?:file(?:name)?|path)\s*:\s*", re.IGNORECASE)
_TICKED = re.compile(r"`([^`\s]+)`")
_THINK = re.compile(r"<(think|thinking)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_TAIL = re.compile(r"^.*?</(?:think|thinking)>", re.DOTALL | re.IGNORECASE)

DIFF_HELP = """\
<path>
<<<<<<< SEARCH
lines copied exactly from the current file (inside an EVOLVE-BLOCK)
=======
the lines to put in their place
>>>>>>> REPLACE"""

REWRITE_HELP = (
    "the whole file in one fenced code block (```), keeping every line outside the "
    "EVOLVE-BLOCKs unchanged, or, when the file has a single EVOLVE-BLOCK, just the "
    "new body of that block"
)


@dataclass(frozen=True)
class SearchReplace:
    """One SEARCH/REPLACE block.

    Attributes:
        path: Target file as written by the model, or the default path.
        search: Lines to find, LF-terminated.
        replace: Lines to put in their place, LF-terminated.
        index: 1-based position of the block in the reply.
        path_given: Whether the reply named the file.
    """

    path: str
    search: str
    replace: str
    index: int
    path_given: bool = False


@dataclass(frozen=True)
class FullRewrite:
    """A fenced code block meant to replace a file or its single EVOLVE-BLOCK body.

    Attributes:
        path: Target file as written by the model, or the default path.
        code: The fenced code, LF-terminated.
        language: The fence's language tag (``""`` when absent).
        path_given: Whether the reply named the file.
    """

    path: str
    code: str
    language: str = ""
    path_given: bool = False


@dataclass(frozen=True)
class ParsedReply:
    """What a reply asks for: either SEARCH/REPLACE blocks or rewrites, never both."""

    format: Literal["diff", "rewrite"]
    blocks: tuple[SearchReplace, ...] = field(default=())
    rewrites: tuple[FullRewrite, ...] = field(default=())


def help_text(mode: Mode) -> str:
    """The short format reminder appended to parse errors."""
    if mode == "diff":
        return "Reply with one or more SEARCH/REPLACE blocks:\n\n" + DIFF_HELP
    if mode == "rewrite":
        return "Reply with " + REWRITE_HELP + "."
    return (
        "Reply with one or more SEARCH/REPLACE blocks:\n\n"
        + DIFF_HELP
        + "\n\nor with "
        + REWRITE_HELP
        + "."
    )


def _clean_reply(reply: str) -> str:
    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    # Reasoning models draft edits while thinking; only the final answer counts.
    text = _THINK.sub("", text)
    if re.search(r"</(?:think|thinking)>", text, re.IGNORECASE):
        text = _THINK_TAIL.sub("", text, count=1)
    return text


def _as_path(line: str, paths: Collection[str] | None) -> str | None:
    """The path a filename line names, or None when the line is not one."""
    s = line.strip()
    s = s.lstrip("#").strip()  # markdown heading
    s = _LABEL.sub("", s.strip("*").strip())
    s = s.strip("*").strip().rstrip(":").strip().strip("`*").strip()
    s = _LABEL.sub("", s)
    if s.startswith("./"):
        s = s[2:]
    if _PATH.match(s):
        return s
    # A prose line ("Here is the new `main.py`:") counts only when it names exactly
    # one known path; otherwise a passing mention would redirect the edit.
    if paths is not None:
        named = {t.removeprefix("./") for t in _TICKED.findall(line)} & set(paths)
        if len(named) == 1:
            return named.pop()
    return None


def _path_before(lines: list[str], i: int, paths: Collection[str] | None) -> str | None:
    """Filename named just before line ``i``, looking past blank lines and one fence."""
    j = i - 1
    fence_seen = False
    while j >= 0 and i - j <= 4:
        line = lines[j]
        if not line.strip():
            j -= 1
            continue
        if not fence_seen and _FENCE_OPEN.match(line):
            # Looking backwards, the first fence (bare ``` included) is the one that
            # opens the block; the filename sits above it.
            fence_seen = True
            j -= 1
            continue
        return _as_path(line, paths)
    return None


def _parse_blocks(
    lines: list[str], default_path: str, paths: Collection[str] | None, mode: Mode
) -> list[SearchReplace]:
    blocks: list[SearchReplace] = []
    last_path: str | None = None
    last_end = -1
    i = 0
    while i < len(lines):
        if not _HEAD.match(lines[i]):
            i += 1
            continue
        head = i
        index = len(blocks) + 1
        named = _path_before(lines, head, paths)
        path_given = named is not None
        # aider's rule, narrowed: a block directly following another (only blank
        # lines between) continues in the same file.
        if (
            named is None
            and last_path is not None
            and all(not line.strip() for line in lines[last_end + 1 : head])
        ):
            named = last_path
            path_given = True
        i += 1
        search: list[str] = []
        while i < len(lines) and not (
            _DIVIDER.match(lines[i]) or _UPDATED.match(lines[i]) or _HEAD.match(lines[i])
        ):
            search.append(lines[i])
            i += 1
        if i >= len(lines) or not _DIVIDER.match(lines[i]):
            raise ParseError(
                f"SEARCH/REPLACE block {index} is malformed: after `<<<<<<< SEARCH` "
                f"(line {head + 1} of your reply) there is no `=======` line.\n" + help_text(mode)
            )
        i += 1
        replace: list[str] = []
        while i < len(lines) and not (_UPDATED.match(lines[i]) or _DIVIDER.match(lines[i])):
            if _HEAD.match(lines[i]):
                break
            replace.append(lines[i])
            i += 1
        if i >= len(lines) or _HEAD.match(lines[i]):
            raise ParseError(
                f"SEARCH/REPLACE block {index} is malformed: it is not closed by a "
                f"`>>>>>>> REPLACE` line (block starts on line {head + 1} of your reply; "
                "was the reply cut off?).\n" + help_text(mode)
            )
        path = named if named is not None else default_path
        blocks.append(
            SearchReplace(
                path=path,
                search="".join(s + "\n" for s in search),
                replace="".join(r + "\n" for r in replace),
                index=index,
                path_given=path_given,
            )
        )
        last_path = path if path_given else None
        last_end = i
        i += 1
    return blocks


def _parse_fences(
    lines: list[str], default_path: str, paths: Collection[str] | None, mode: Mode
) -> list[FullRewrite]:
    found: list[tuple[FullRewrite, bool]] = []  # (rewrite, has a marker)
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence, language = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines):
            c = _FENCE_CLOSE.match(lines[j])
            if c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence):
                break
            j += 1
        if j >= len(lines):
            raise ParseError(
                f"The code block opened on line {i + 1} of your reply is never closed "
                f"with {fence} (was the reply cut off?).\n" + help_text(mode)
            )
        code = lines[i + 1 : j]
        # A unified diff is not a program; taking it as one would replace the block
        # with patch text. Such replies fall through to the format reminder.
        unified = language.lower() in ("diff", "patch") or any(
            line.startswith(("--- a/", "+++ b/", "@@ ")) for line in code[:3]
        )
        if not unified and any(line.strip() for line in code):
            named = _path_before(lines, i + 1, paths)
            body = "".join(line + "\n" for line in code)
            rewrite = FullRewrite(
                path=named or default_path,
                code=body,
                language=language,
                path_given=named is not None,
            )
            found.append((rewrite, "EVOLVE-BLOCK-" in body))
        i = j + 1
    named_rewrites = {r.path: r for r, _ in found if r.path_given}
    if named_rewrites:
        return list(named_rewrites.values())
    if not found:
        return []
    # Unnamed blocks: a reply often adds a usage snippet or a test next to the
    # program; the block carrying the markers, else the longest, is the program.
    with_markers = [r for r, marked in found if marked]
    if with_markers:
        return [with_markers[-1]]
    return [max((r for r, _ in found), key=lambda r: len(r.code))]


def parse_reply(
    reply: str,
    *,
    default_path: str,
    mode: Mode = "auto",
    paths: Collection[str] | None = None,
) -> ParsedReply:
    """Parse a model reply into edits.

    Args:
        reply: The model's text (CRLF tolerated; ``<think>`` sections are ignored).
        default_path: File targeted by a block or code fence that names none.
        mode: ``"diff"`` accepts only SEARCH/REPLACE blocks, ``"rewrite"`` only fenced
            code; ``"auto"`` takes blocks when there are any, else fenced code.
        paths: Known file paths; when given, a prose line naming exactly one of them
            in backticks also counts as a filename line.

    Returns:
        The parsed edits.

    Raises:
        ParseError: The reply holds no usable edit, or a block is malformed. The
            message is written for the model and shows the expected format.
    """
    text = _clean_reply(reply)
    if not text.strip():
        raise ParseError("Your reply was empty.\n" + help_text(mode))
    lines = text.split("\n")
    has_head = any(_HEAD.match(line) for line in lines)
    if mode != "rewrite" and (has_head or mode == "diff"):
        blocks = _parse_blocks(lines, default_path, paths, mode)
        if blocks:
            return ParsedReply(format="diff", blocks=tuple(blocks))
        raise ParseError("Your reply contains no SEARCH/REPLACE block.\n" + help_text(mode))
    if has_head:
        raise ParseError(
            "Send the complete code in a fenced code block, not SEARCH/REPLACE blocks.\n"
            + help_text(mode)
        )
    rewrites = _parse_fences(lines, default_path, paths, mode)
    if not rewrites:
        raise ParseError(
            "Your reply contains no SEARCH/REPLACE block and no fenced code block.\n"
            + help_text(mode)
        )
    return ParsedReply(format="rewrite", rewrites=tuple(rewrites))

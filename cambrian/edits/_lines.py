"""A file as a list of lines that can be rebuilt byte-for-byte.

Matching works on line *content* (no line terminator) so that a CRLF file matches a
reply that the parser normalised to LF; the terminator is remembered once per file and
put back on every line when the text is rebuilt, so untouched lines keep their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Doc:
    """Line contents of a text plus what is needed to rebuild it exactly."""

    lines: list[str]
    eol: str = "\n"
    final_newline: bool = True

    @classmethod
    def parse(cls, text: str) -> Doc:
        """Split ``text`` into line contents without terminators."""
        # CRLF only when *every* newline is CRLF; mixed files keep their stray "\r"
        # inside the content, so rebuilding still reproduces the original bytes.
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        eol = "\r\n" if crlf else "\n"
        if not text:
            return cls([], eol, True)
        parts = text.split(eol)
        final_newline = parts[-1] == ""
        if final_newline:
            parts.pop()
        return cls(parts, eol, final_newline)

    def text(self) -> str:
        """Rebuild the text."""
        if not self.lines:
            return ""
        body = self.eol.join(self.lines)
        return body + self.eol if self.final_newline else body


def split_lf(text: str) -> list[str]:
    """Line contents of an LF text; a trailing newline does not add an empty line."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return parts


def join_lf(lines: list[str]) -> str:
    """Inverse of :func:`split_lf` (always ends with a newline when non-empty)."""
    return "".join(line + "\n" for line in lines)

"""The edit layer: turn a model reply into a new candidate artifact.

A reply holds SEARCH/REPLACE blocks (aider's format) or fenced code (a whole file, or
the body of a file's single EVOLVE-BLOCK). :func:`apply_reply` applies all of them or
none, only inside the EVOLVE-BLOCK regions, and raises :class:`~cambrian.ParseError` /
:class:`~cambrian.ApplyError` with a message written for the model.
"""

from __future__ import annotations

from cambrian.edits._apply import AppliedEdit, apply_reply
from cambrian.edits._interface import check_interface, describe_interface
from cambrian.edits._markers import check_markers, evolvable_paths, evolve_regions
from cambrian.edits._match import Fuzz
from cambrian.edits._parse import FullRewrite, ParsedReply, SearchReplace, parse_reply

__all__ = [
    "AppliedEdit",
    "FullRewrite",
    "Fuzz",
    "ParsedReply",
    "SearchReplace",
    "apply_reply",
    "check_interface",
    "check_markers",
    "describe_interface",
    "evolvable_paths",
    "evolve_regions",
    "parse_reply",
]

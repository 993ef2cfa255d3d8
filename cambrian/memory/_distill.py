"""Distillation: an analyzer model turns recent programs into insights, skills and advice.

Successes (children that beat their parent) and failures (children that failed or
scored lower) are analysed with different prompts. The reply is a small line format
that even a 1.5B model writes reliably; parsing is lenient about layout and strict
about evidence: an insight must cite programs of the batch it came from, of the right
kind (guiding ← improvements, cautionary ← failures), or it is dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from string import Template

from ..archive import Program
from ._text import similarity

_DIFF_CHARS = 1200
_FEEDBACK_CHARS = 300
_MAX_PROGRAMS = 8


@cache
def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath(f"prompts/{name}.md").read_text("utf-8"))


def render(name: str, **values: object) -> str:
    """Render ``prompts/<name>.md``; a missing variable raises KeyError."""
    return _template(name).substitute({k: str(v) for k, v in values.items()})


@dataclass(frozen=True)
class Outcome:
    """One evaluated child with its parent, as the analyzer sees it."""

    child: Program
    parent: Program | None

    @property
    def gain(self) -> float | None:
        if not self.child.correct or self.child.score is None:
            return None
        if self.parent is None or self.parent.score is None:
            return None
        return self.child.score - self.parent.score

    @property
    def improved(self) -> bool:
        gain = self.gain
        return gain is not None and gain > 0


@dataclass
class Notes:
    """What one analyzer reply contributed."""

    insights: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    """(polarity, statement, cited program ids)."""
    skills: list[tuple[str, str, str, tuple[int, ...]]] = field(default_factory=list)
    """(name, description, body, cited program ids)."""
    recommendations: list[str] = field(default_factory=list)


def _diff(parent: Program | None, child: Program) -> str:
    if parent is None:
        return ""
    lines: list[str] = []
    for path in sorted(set(parent.files) | set(child.files)):
        old = parent.files.get(path, "").splitlines()
        new = child.files.get(path, "").splitlines()
        lines.extend(difflib.unified_diff(old, new, path, path, n=1, lineterm=""))
    text = "\n".join(lines[2:] if len(lines) > 2 else lines)
    if len(text) > _DIFF_CHARS:
        text = text[:_DIFF_CHARS] + f"\n… [{len(text) - _DIFF_CHARS} characters cut]"
    return text


def describe(outcome: Outcome) -> str:
    """One program for the analyzer: id, scores, failure, feedback, diff."""
    child, parent = outcome.child, outcome.parent
    score = "failed" if child.score is None else f"{child.score:.6g}"
    head = f"## Program {child.id}"
    if parent is not None:
        base = "failed" if parent.score is None else f"{parent.score:.6g}"
        head += f" (child of {parent.id}: score {score}, parent {base}"
        gain = outcome.gain
        head += f", {gain:+.4g})" if gain is not None else ")"
    else:
        head += f" (score {score})"
    parts = [head]
    if child.failure or not child.correct:
        why = (child.error or child.feedback or "").strip().splitlines()
        parts.append(f"Failure: {child.failure or 'incorrect'}: {' '.join(why[-3:])[:300]}")
    elif child.feedback:
        parts.append(f"Evaluator feedback: {child.feedback[:_FEEDBACK_CHARS]}")
    diff = _diff(parent, child)
    if diff:
        parts.append(f"```diff\n{diff}\n```")
    return "\n".join(parts)


def analyzer_prompt(
    kind: str, task_name: str, description: str, outcomes: list[Outcome], known: list[str]
) -> str:
    """The analyzer's prompt for ``kind`` ("success" or "failure")."""
    shown = outcomes[-_MAX_PROGRAMS:]
    known_text = ""
    if known:
        known_text = (
            "\nAlready known (do not repeat these; cite new evidence only if it adds to them):\n"
            + "\n".join(f"- {k}" for k in known)
            + "\n"
        )
    return render(
        f"analyze_{kind}",
        task_name=task_name,
        description=description or "(no description given)",
        programs="\n\n".join(describe(o) for o in shown),
        known=known_text,
    )


_INSIGHT = re.compile(r"^\W*(GUIDING|CAUTIONARY)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_CITES = re.compile(r"\[([\d,\s#]+)\]\s*\.?\s*$")
_SKILL = re.compile(r"^\W*SKILL\s*:\s*([A-Za-z0-9][A-Za-z0-9 _-]*?)\s*\|\s*(.+?)\s*$", re.I)
_NAME_OK = re.compile(r"[^a-z0-9-]+")


def _cited(statement: str) -> tuple[str, tuple[int, ...]]:
    match = _CITES.search(statement)
    if not match:
        return statement.strip(), ()
    ids = tuple(int(x) for x in re.findall(r"\d+", match.group(1)))
    return statement[: match.start()].strip().rstrip(" .") + ".", ids


def skill_name(text: str) -> str:
    """An agentskills.io-valid name: lowercase letters, digits and single hyphens."""
    name = _NAME_OK.sub("-", text.strip().lower()).strip("-")
    return re.sub(r"-{2,}", "-", name)[:64].strip("-")


@cache
def _examples() -> tuple[str, ...]:
    """The example lessons the analyzer prompts show (never lessons themselves)."""
    out = []
    for name in ("analyze_success", "analyze_failure"):
        for line in _template(name).template.splitlines():
            match = _INSIGHT.match(line)
            if match:
                out.append(_cited(match.group(2))[0])
    return tuple(out)


def restates_example(statement: str) -> bool:
    """Whether ``statement`` echoes a prompt's example (small models copy them)."""
    return any(similarity(statement, example) >= 0.6 for example in _examples())


def parse_notes(reply: str) -> Notes:
    """Read an analyzer reply; unknown lines are ignored."""
    notes = Notes()
    lines = reply.replace("\r\n", "\n").split("\n")
    i = 0
    in_recs = False
    while i < len(lines):
        line = lines[i].strip().strip("*").strip()
        i += 1
        if not line or line.startswith("```"):
            continue
        insight = _INSIGHT.match(line)
        if insight:
            in_recs = False
            text, ids = _cited(insight.group(2))
            if len(text) > 8:
                notes.insights.append((insight.group(1).lower(), text[:400], ids))
            continue
        skill = _SKILL.match(line)
        if skill:
            in_recs = False
            body: list[str] = []
            while i < len(lines) and not lines[i].strip().upper().startswith("END SKILL"):
                body.append(lines[i])
                i += 1
            end = lines[i].strip() if i < len(lines) else ""
            i += 1
            text, ids = _cited(skill.group(2))
            if not ids:  # the prompt asks for them after END SKILL
                ids = _cited(end)[1]
            name = skill_name(skill.group(1))
            if name and "\n".join(body).strip():
                notes.skills.append((name, text[:1024], "\n".join(body).strip(), ids))
            continue
        if line.upper().startswith("RECOMMENDATIONS"):
            in_recs = True
            line = line[len("RECOMMENDATIONS") :].lstrip(" :*")
            if not line:
                continue
            line = f"- {line}"  # small models write the first one on the same line
        if in_recs and line[:1] in "-•*" and len(notes.recommendations) < 5:
            # Program ids mean nothing to the next run, which reads these too.
            text, _ = _cited(line.lstrip("-•* ").strip())
            notes.recommendations.append(text[:300])
    return notes

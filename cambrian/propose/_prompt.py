"""Prompts are data files next to this module, rendered with strict substitution."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template

from ..archive import Program
from ..edits import evolvable_paths
from ..models import Message
from ..task import Task

_FEEDBACK_CHARS = 2000
_LANG = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".rs": "rust",
    ".c": "c",
    ".cpp": "cpp",
    ".cu": "cuda",
    ".go": "go",
    ".java": "java",
    ".jl": "julia",
}


@cache
def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath(f"prompts/{name}.md").read_text("utf-8"))


def render(name: str, **values: object) -> str:
    """Render ``prompts/<name>.md``; a missing variable raises KeyError."""
    return _template(name).substitute({k: str(v) for k, v in values.items()})


def _truncate(text: str, limit: int = _FEEDBACK_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters cut] …\n{text[-half:]}"


def _fence(path: str, text: str) -> str:
    lang = _LANG.get("." + path.rsplit(".", 1)[-1], "") if "." in path else ""
    return f"{path}\n```{lang}\n{text.rstrip()}\n```"


def render_program(program: Program, *, with_code: bool = True) -> str:
    """The parent as the model sees it: score, metrics, evaluator feedback, code."""
    score = "failed" if program.score is None else f"{program.score:.6g}"
    note = "" if program.correct or program.score is None else " (marked incorrect)"
    metrics = ""
    if program.metrics:
        shown = {k: round(v, 6) for k, v in list(program.metrics.items())[:20]}
        metrics = "Metrics: " + json.dumps(shown)
    feedback = f"Evaluator feedback:\n{_truncate(program.feedback)}" if program.feedback else ""
    code = ""
    if with_code:
        paths = evolvable_paths(program.files) or sorted(program.files)
        code = "\n\n".join(_fence(p, program.files[p]) for p in paths)
    return render(
        "program",
        score=score,
        correct_note=note,
        metrics=metrics,
        feedback=feedback,
        program=code,
        inspirations="",
    )


def render_inspirations(programs: list[Program]) -> str:
    if not programs:
        return ""
    parts = ["# Other programs from this run, for inspiration"]
    for p in programs:
        paths = evolvable_paths(p.files) or sorted(p.files)
        score = "failed" if p.score is None else f"{p.score:.6g}"
        parts.append(f"## Program {p.id} (score {score})")
        parts.extend(_fence(path, p.files[path]) for path in paths)
    return "\n\n".join(parts)


def build_messages(
    kind: str, task: Task, parent: Program, inspirations: list[Program], path: str
) -> list[Message]:
    """The system and user messages for operator ``kind`` (diff, rewrite or fix)."""
    system = render(
        "system", task_name=task.name, description=task.description or "(no description given)"
    )
    user = render_program(parent) + "\n" + render_inspirations(inspirations)
    if kind == "fix":
        job = render(
            "fix",
            failure=parent.failure or "incorrect",
            error=_truncate(parent.error or parent.feedback or "(no message)"),
            path=path,
        )
    else:
        job = render(kind, path=path)
    return [Message("system", system), Message("user", f"{user.strip()}\n\n{job}")]

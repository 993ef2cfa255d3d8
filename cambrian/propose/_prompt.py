"""Prompts are data files next to this module, rendered with strict substitution."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template

from ..archive import Program
from ..edits import describe_interface, evolvable_paths, evolve_regions
from ..models import Message
from ..task import Task

_FEEDBACK_CHARS = 2000
DEFAULT_PREAMBLE = (
    "You are an expert programmer who improves programs through careful, verifiable edits."
)
"""The system prompt's opening; memory may replace it with an evolved variant."""
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


def _block_bodies(text: str) -> str:
    """The EVOLVE-BLOCK bodies of ``text``, separated by a marker comment."""
    lines = text.splitlines()
    bodies = ["\n".join(lines[a:b]).strip("\n") for a, b in evolve_regions(text)]
    return "\n# ... (code outside the EVOLVE-BLOCKs) ...\n".join(bodies)


def _code(files: dict[str, str], view: str) -> str:
    paths = evolvable_paths(files) or sorted(files)
    if view == "block":
        return "\n\n".join(
            _fence(p, _block_bodies(files[p])) if p in evolvable_paths(files) else "" for p in paths
        )
    return "\n\n".join(_fence(p, files[p]) for p in paths)


def render_program(program: Program, *, with_code: bool = True, view: str = "file") -> str:
    """The parent as the model sees it: score, metrics, evaluator feedback, code.

    ``view`` "block" shows only the EVOLVE-BLOCK bodies (see ``prompt_view`` in the
    model catalog).
    """
    score = "failed" if program.score is None else f"{program.score:.6g}"
    note = "" if program.correct or program.score is None else " (marked incorrect)"
    metrics = ""
    if program.metrics:
        shown = {k: round(v, 6) for k, v in list(program.metrics.items())[:20]}
        metrics = "Metrics: " + json.dumps(shown)
    feedback = f"Evaluator feedback:\n{_truncate(program.feedback)}" if program.feedback else ""
    code = _code(program.files, view) if with_code else ""
    return render(
        "program",
        score=score,
        correct_note=note,
        metrics=metrics,
        feedback=feedback,
        program=code,
        inspirations="",
    )


def render_inspirations(programs: list[Program], *, view: str = "file") -> str:
    if not programs:
        return ""
    parts = ["# Other programs from this run, for inspiration"]
    for p in programs:
        score = "failed" if p.score is None else f"{p.score:.6g}"
        parts.append(f"## Program {p.id} (score {score})")
        parts.append(_code(p.files, view))
    return "\n\n".join(parts)


def build_messages(
    kind: str,
    task: Task,
    parent: Program,
    inspirations: list[Program],
    path: str,
    *,
    view: str = "file",
    advice: str = "",
    preamble: str | None = None,
) -> list[Message]:
    """The system and user messages for operator ``kind`` (diff, rewrite or fix).

    Args:
        kind: The operator: ``diff``, ``rewrite`` or ``fix``.
        task: The task (its name and description open the system prompt).
        parent: The program to change.
        inspirations: Other programs shown for inspiration.
        path: The file the job names.
        view: ``file`` shows whole files; ``block`` only the EVOLVE-BLOCK bodies.
        advice: Lessons from memory, placed before the job.
        preamble: The system prompt's opening; None for :data:`DEFAULT_PREAMBLE`.
    """
    system = render(
        "system",
        preamble=preamble or DEFAULT_PREAMBLE,
        task_name=task.name,
        description=task.description or "(no description given)",
    )
    user = render_program(parent, view=view) + "\n" + render_inspirations(inspirations, view=view)
    if kind == "fix":
        job = render(
            "fix",
            failure=parent.failure or "incorrect",
            error=_truncate(parent.error or parent.feedback or "(no message)"),
            path=path,
        )
    elif kind == "rewrite":
        job = render("rewrite", path=path, interface=describe_interface(parent.files[path]))
    else:
        job = render(kind, path=path)
    if advice:
        job = f"{advice.strip()}\n\n{job}"
    return [Message("system", system), Message("user", f"{user.strip()}\n\n{job}")]

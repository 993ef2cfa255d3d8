"""The Task: what a user brings — a seed artifact and an evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TaskFormat = Literal["cambrian", "openevolve", "shinka"]
EvaluatorProtocol = Literal["evaluate", "shinka_main"]

Files = dict[str, str]
"""An artifact: relative POSIX path -> file text. A single-file program has one entry."""


@dataclass(frozen=True)
class Task:
    """A loaded task.

    Attributes:
        name: Short name (the directory name).
        root: Absolute path of the task directory.
        format: Which layout the directory follows.
        seed: The seed artifact; files carrying EVOLVE-BLOCK markers are evolvable.
        entry: Path (inside the artifact) handed to the evaluator as ``program_path``;
            ``""`` means the artifact directory itself (multi-file tasks).
        evaluator: Absolute path of the trusted evaluator file.
        protocol: ``"evaluate"`` (``evaluate(program_path)``, optional
            ``evaluate_stage1/2/3``) or ``"shinka_main"`` (``main(program_path,
            results_dir)`` writing ``metrics.json`` and ``correct.json``).
        description: What the program should achieve, for prompts.
        settings: Run settings the task directory provides (from ``cambrian.toml`` or
            a mapped OpenEvolve ``config.yaml``), as a nested dict of RunConfig fields.
    """

    name: str
    root: Path
    format: TaskFormat
    seed: Files
    entry: str
    evaluator: Path
    protocol: EvaluatorProtocol
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

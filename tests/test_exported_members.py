"""The public surface is curated: each package's __all__ is sorted and importable."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import cambrian

PACKAGES = [
    "cambrian",
    "cambrian.archive",
    "cambrian.cli",
    "cambrian.compat",
    "cambrian.edits",
    "cambrian.engine",
    "cambrian.evaluate",
    "cambrian.memory",
    "cambrian.models",
    "cambrian.propose",
    "cambrian.sandbox",
    "cambrian.store",
    "cambrian.task",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_importable(name: str) -> None:
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__)
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.{member}"


def test_top_level_surface() -> None:
    assert set(cambrian.__all__) == {
        "Archive",
        "ArchiveConfig",
        "Budget",
        "CambrianError",
        "CandidateResult",
        "Completion",
        "Concurrency",
        "ConfigError",
        "Engine",
        "EvalResult",
        "EvaluatorConfig",
        "Event",
        "FunctionModel",
        "Limits",
        "Message",
        "Model",
        "Program",
        "ProposeConfig",
        "RunConfig",
        "RunSummary",
        "ScriptedModel",
        "Task",
        "TaskError",
        "Usage",
        "__version__",
        "build_config",
        "evolve",
        "load_task",
        "resume",
        "run_candidate",
    }
    assert cambrian.__all__ == sorted(cambrian.__all__)


def test_evaluator_import_stays_light() -> None:
    # An evaluator's `from cambrian import run_candidate` must not load the engine.
    import subprocess
    import sys

    code = (
        "import sys\nfrom cambrian import run_candidate\n"
        "print(sorted(m for m in ('cambrian.engine', 'cambrian.archive', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_import_pulls_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = "import sys, cambrian; print(sorted(m for m in ('numpy','torch','ray','openai','anthropic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _modules() -> list[str]:
    root = Path(cambrian.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        if "_shims" in rel.parts or rel.name == "__main__":
            continue  # the shims stand in for other projects' packages
        names.append(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
    return names


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """No import cycle depends on which module a user (or an evaluator) imports first."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in _modules()
    }
    failed = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failed[name] = out.decode(errors="replace").strip().splitlines()[-1]
    assert len(procs) > 50 and not failed

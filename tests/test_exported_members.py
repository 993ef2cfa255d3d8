"""The public surface is curated: each package's __all__ is sorted and importable."""

from __future__ import annotations

import importlib

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

"""Task directories: Cambrian's layout, and OpenEvolve's / ShinkaEvolve's unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLES, FIXTURES, QUAD_PROGRAM, write_task

from cambrian import build_config, load_task
from cambrian._exceptions import ConfigError, TaskError


def test_cambrian_example_with_toml() -> None:
    task = load_task(EXAMPLES / "circle_packing")
    assert task.format == "cambrian" and task.protocol == "evaluate"
    assert list(task.seed) == ["program.py"] and task.entry == "program.py"
    assert "26" in task.description
    config = build_config(task.settings)
    assert config.evaluator.limits.timeout_s == 60  # `[evaluator] timeout_s` shorthand


def test_cambrian_layout_without_toml_finds_the_marked_seed(quad_task: Path) -> None:
    task = load_task(quad_task)
    assert task.seed == {"program.py": QUAD_PROGRAM}
    assert task.evaluator == quad_task / "evaluate.py"


def test_openevolve_layout_and_config_mapping() -> None:
    task = load_task(FIXTURES / "openevolve_circle")
    assert task.format == "openevolve" and task.entry == "initial_program.py"
    assert task.evaluator.name == "evaluator.py"
    assert "computational geometry" in task.description
    config = build_config(task.settings)
    assert config.budget.max_samples == 100 and config.seed == 42
    assert config.archive.islands == 4 and config.archive.population_size == 60
    assert config.archive.feature_dimensions == ["code_length"]
    assert config.evaluator.cascade is True
    assert config.evaluator.cascade_thresholds == [0.5, 0.75]
    assert config.evaluator.limits.timeout_s == 60
    assert config.concurrency.evaluations == 4


def test_shinka_layout() -> None:
    task = load_task(FIXTURES / "shinka_circle")
    assert task.format == "shinka" and task.protocol == "shinka_main"
    assert task.entry == "initial.py"


def test_multi_file_seed_directory(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("from pkg.util import K\n")
    (root / "src" / "pkg" / "util.py").write_text(
        "# EVOLVE-BLOCK-START\nK = 1\n# EVOLVE-BLOCK-END\n"
    )
    (root / "evaluate.py").write_text(
        "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
    )
    (root / "cambrian.toml").write_text('[task]\nseed = "src"\n')
    task = load_task(root)
    assert sorted(task.seed) == ["main.py", "pkg/util.py"]
    assert task.entry == ""  # the evaluator receives the artifact directory


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("X = 1\n", "no EVOLVE-BLOCK"),
        ("# EVOLVE-BLOCK-START\nX = 1\n", "program.py"),
    ],
)
def test_bad_seed_markers(tmp_path: Path, program: str, message: str) -> None:
    root = write_task(tmp_path / "t", program=program, toml='[task]\nseed = "program.py"\n')
    with pytest.raises(TaskError, match=message):
        load_task(root)


def test_not_a_task_directory(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="does not exist"):
        load_task(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TaskError, match="not a task directory"):
        load_task(tmp_path / "empty")


def test_evaluator_without_entry_point(tmp_path: Path) -> None:
    root = write_task(tmp_path / "t", evaluator="def score(p):\n    return 1\n")
    with pytest.raises(TaskError, match="neither evaluate"):
        load_task(root)


def test_unknown_task_key_and_bad_config_value(tmp_path: Path) -> None:
    root = write_task(tmp_path / "t", toml='[task]\nseed = "program.py"\nentrypoint = "x"\n')
    with pytest.raises(TaskError, match="entrypoint"):
        load_task(root)
    with pytest.raises(ConfigError, match=r"budget\.max_samples"):
        build_config({"budget": {"max_samples": -1}})
    with pytest.raises(ConfigError, match="selection"):
        build_config({"archive": {"selection": "best-guess"}})

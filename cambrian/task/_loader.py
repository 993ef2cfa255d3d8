"""Load a task directory: Cambrian's own layout, or OpenEvolve's / ShinkaEvolve's unchanged.

=============  =========================  ===============  ==========================
layout         seed                       evaluator        settings
=============  =========================  ===============  ==========================
cambrian       ``[task] seed`` in          ``evaluate.py``  ``cambrian.toml``
               ``cambrian.toml``, else    ``evaluate()``
               the one file with markers
openevolve     ``initial_program.*``      ``evaluator.py`` ``config.yaml`` (mapped)
shinka         ``initial.*``              ``evaluate.py``  —
                                          ``main()``
=============  =========================  ===============  ==========================

A seed may be a directory (multi-file artifact): every text file in it is part of
the artifact and the ones carrying EVOLVE-BLOCK markers are evolvable.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

import yaml

from .._exceptions import TaskError

# From the submodule: `edits` imports `task._task`, so the package may still be initialising.
from ..edits._markers import check_markers, evolvable_paths
from ._task import EvaluatorProtocol, Files, Task, TaskFormat

CONFIG_NAME = "cambrian.toml"
_MAX_SEED_BYTES = 2 * 1024 * 1024
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "node_modules"}


def load_task(path: str | Path) -> Task:
    """Load the task directory at ``path``.

    Raises:
        TaskError: The directory is missing, has no seed or evaluator, or its seed
            carries no (or unbalanced) EVOLVE-BLOCK markers.
    """
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise TaskError(f"task directory {str(path)!r} does not exist")
    if (root / CONFIG_NAME).is_file() or (
        (root / "evaluate.py").is_file() and not _glob_one(root, "initial.*")
    ):
        return _load_cambrian(root)
    if (root / "evaluator.py").is_file() and _glob_one(root, "initial_program.*"):
        return _load_openevolve(root)
    if (root / "evaluate.py").is_file() and _glob_one(root, "initial.*"):
        return _load_shinka(root)
    raise TaskError(
        f"{str(root)!r} is not a task directory: expected a Cambrian task (evaluate.py +"
        " a seed with EVOLVE-BLOCK markers, optional cambrian.toml), an OpenEvolve task"
        " (initial_program.* + evaluator.py) or a ShinkaEvolve task (initial.* + evaluate.py)"
    )


def _glob_one(root: Path, pattern: str) -> Path | None:
    found = sorted(p for p in root.glob(pattern) if p.is_file())
    return found[0] if found else None


def _read_text(path: Path) -> str:
    if path.stat().st_size > _MAX_SEED_BYTES:
        raise TaskError(f"seed file {str(path)!r} is larger than {_MAX_SEED_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(f"seed file {str(path)!r} is not UTF-8 text: {exc}") from exc


def _read_seed(root: Path, seed: Path) -> tuple[Files, str]:
    """Returns (files, entry) for a seed file or directory."""
    if seed.is_file():
        files = {seed.name: _read_text(seed)}
        entry = seed.name
    elif seed.is_dir():
        files = {}
        for p in sorted(seed.rglob("*")):
            if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(seed).parts):
                files[p.relative_to(seed).as_posix()] = _read_text(p)
        entry = ""
    else:
        raise TaskError(f"seed {str(seed.relative_to(root))!r} does not exist in {str(root)!r}")
    for name, text in files.items():
        check_markers(text, name)
    if not evolvable_paths(files):
        raise TaskError(
            f"seed {str(seed.relative_to(root))!r} has no EVOLVE-BLOCK-START / EVOLVE-BLOCK-END"
            " markers: mark the code Cambrian may change"
        )
    return files, entry


def _functions(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise TaskError(f"evaluator {str(path)!r} does not parse: {exc}") from exc
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _protocol(path: Path) -> EvaluatorProtocol:
    names = _functions(path)
    if "evaluate" in names or "evaluate_stage1" in names:
        return "evaluate"
    if "main" in names:
        return "shinka_main"
    raise TaskError(
        f"evaluator {str(path)!r} defines neither evaluate(program_path) nor"
        " main(program_path, results_dir)"
    )


def _task(
    root: Path,
    fmt: TaskFormat,
    seed: Path,
    evaluator: Path,
    description: str,
    settings: dict[str, Any],
    name: str | None = None,
    entry: str | None = None,
) -> Task:
    files, default_entry = _read_seed(root, seed)
    return Task(
        name=name or root.name,
        root=root,
        format=fmt,
        seed=files,
        entry=default_entry if entry is None else entry,
        evaluator=evaluator,
        protocol=_protocol(evaluator),
        description=description.strip(),
        settings=settings,
    )


def _load_cambrian(root: Path) -> Task:
    data: dict[str, Any] = {}
    config = root / CONFIG_NAME
    if config.is_file():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise TaskError(f"{str(config)!r} is not valid TOML: {exc}") from exc
    meta = data.pop("task", {})
    if not isinstance(meta, dict):
        raise TaskError(f"{str(config)!r}: [task] must be a table")
    unknown = set(meta) - {"name", "seed", "entry", "description", "evaluator"}
    if unknown:
        raise TaskError(
            f"{str(config)!r}: unknown [task] keys {sorted(unknown)!r};"
            " valid: name, seed, entry, description, evaluator"
        )
    evaluator = root / meta.get("evaluator", "evaluate.py")
    if not evaluator.is_file():
        raise TaskError(f"task {str(root)!r} has no evaluator {evaluator.name!r}")
    if "seed" in meta:
        seed = root / meta["seed"]
    else:
        seed = _find_marked_seed(root, exclude={evaluator.name})
    return _task(
        root,
        "cambrian",
        seed,
        evaluator,
        meta.get("description", ""),
        data,
        name=meta.get("name"),
        entry=meta.get("entry"),
    )


def _find_marked_seed(root: Path, exclude: set[str]) -> Path:
    marked = [
        p
        for p in sorted(root.iterdir())
        if p.is_file()
        and p.name not in exclude
        and p.suffix not in {".toml", ".yaml", ".yml", ".md", ".json"}
        and "EVOLVE-BLOCK-START" in p.read_text(encoding="utf-8", errors="replace")
    ]
    if len(marked) != 1:
        raise TaskError(
            f"task {str(root)!r}: cannot tell which file is the seed"
            f" ({len(marked)} files carry EVOLVE-BLOCK markers); set [task] seed in {CONFIG_NAME}"
        )
    return marked[0]


def _load_openevolve(root: Path) -> Task:
    seed = _glob_one(root, "initial_program.*")
    assert seed is not None
    data: dict[str, Any] = {}
    config = root / "config.yaml"
    if config.is_file():
        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TaskError(f"{str(config)!r} is not valid YAML: {exc}") from exc
    description = ((data.get("prompt") or {}).get("system_message")) or ""
    return _task(root, "openevolve", seed, root / "evaluator.py", description, map_openevolve(data))


def map_openevolve(data: dict[str, Any]) -> dict[str, Any]:
    """Translate the parts of an OpenEvolve ``config.yaml`` Cambrian understands.

    LLM settings are not taken over: the model is chosen when the run starts.
    """
    out: dict[str, Any] = {}
    if isinstance(data.get("max_iterations"), int):
        out.setdefault("budget", {})["max_samples"] = data["max_iterations"]
    if isinstance(data.get("random_seed"), int):
        out["seed"] = data["random_seed"]
    db = data.get("database") or {}
    archive: dict[str, Any] = {}
    for src, dst in (
        ("num_islands", "islands"),
        ("population_size", "population_size"),
        ("migration_interval", "migration_interval"),
    ):
        if isinstance(db.get(src), int):
            archive[dst] = db[src]
    dims = db.get("feature_dimensions")
    if isinstance(dims, list):
        mapped = [{"complexity": "code_length"}.get(d, d) for d in dims if d != "diversity"]
        archive["feature_dimensions"] = [d for d in mapped if isinstance(d, str)]
    if isinstance(db.get("feature_bins"), int):
        archive["feature_bins"] = db["feature_bins"]
    if archive:
        out["archive"] = archive
    ev = data.get("evaluator") or {}
    evaluator: dict[str, Any] = {}
    if isinstance(ev.get("timeout"), int | float):
        evaluator["limits"] = {"timeout_s": float(ev["timeout"])}
    if isinstance(ev.get("cascade_evaluation"), bool):
        evaluator["cascade"] = ev["cascade_evaluation"]
    if isinstance(ev.get("cascade_thresholds"), list):
        evaluator["cascade_thresholds"] = [float(t) for t in ev["cascade_thresholds"]]
    if evaluator:
        out["evaluator"] = evaluator
    if isinstance(ev.get("parallel_evaluations"), int):
        out.setdefault("concurrency", {})["evaluations"] = max(1, ev["parallel_evaluations"])
    return out


def _load_shinka(root: Path) -> Task:
    seed = _glob_one(root, "initial.*")
    assert seed is not None
    return _task(root, "shinka", seed, root / "evaluate.py", "", {})

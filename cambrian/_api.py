"""The Python API: one call runs (or resumes) an evolution."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ._config import RunConfig, build_config, merge_settings
from ._exceptions import RunStoreError
from .engine import Engine, EventHandler, RunSummary
from .models import EnsembleModel, Model, resolve_model
from .store import RunStore
from .task import load_task


def default_run_dir(task_name: str) -> Path:
    return Path("runs") / f"{task_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def build_model(cfg: RunConfig) -> Model:
    """The model a configuration names: one model, or a bandit ensemble of several."""
    specs = [cfg.model] if isinstance(cfg.model, str) else list(cfg.model or [])
    members = [resolve_model(spec) for spec in specs]
    ens = cfg.ensemble
    if len(members) == 1 and not ens.temperatures:
        return members[0]
    return EnsembleModel(
        members,
        strategy=ens.strategy,
        weights=ens.weights,
        temperatures=ens.temperatures,
        cost_weight=ens.cost_weight,
        exploration=ens.exploration,
        seed=cfg.seed,
    )


def evolve(
    task_dir: str | Path,
    *,
    model: Model | str | list[str] | None = None,
    run_dir: str | Path | None = None,
    config: dict[str, Any] | None = None,
    on_event: EventHandler | None = None,
    handle_signals: bool = False,
) -> RunSummary:
    """Evolve the task in ``task_dir`` and return the run's summary.

    Args:
        task_dir: A Cambrian, OpenEvolve or ShinkaEvolve task directory.
        model: A Model, a model spec string, several specs (a bandit ensemble), or
            None for the built-in model-free ``numeric_mutation`` operator.
        run_dir: Where the run database goes; an existing run directory of the
            same task is resumed.
        config: Nested overrides of :class:`RunConfig` fields, e.g.
            ``{"budget": {"max_samples": 50}}``.
        on_event: Receives progress events.
        handle_signals: Turn SIGINT/SIGTERM into a graceful stop.

    Raises:
        TaskError, ConfigError, RunStoreError: see :mod:`cambrian._exceptions`.
    """
    task = load_task(task_dir)
    overrides = dict(config or {})
    if isinstance(model, str | list):
        overrides["model"] = model
    cfg = build_config(task.settings, overrides)
    resolved = model if model is not None and not isinstance(model, str | list) else None
    if resolved is None and cfg.model:
        resolved = build_model(cfg)
    engine = Engine(
        task,
        cfg,
        Path(run_dir) if run_dir is not None else default_run_dir(task.name),
        model=resolved,
        on_event=on_event,
        handle_signals=handle_signals,
    )
    return asyncio.run(engine.run())


def resume(
    run_dir: str | Path,
    *,
    model: Model | None = None,
    config: dict[str, Any] | None = None,
    on_event: EventHandler | None = None,
    handle_signals: bool = False,
) -> RunSummary:
    """Continue the run in ``run_dir`` exactly where it stopped.

    The task and configuration are read back from the run database; ``config``
    may raise budgets (e.g. more samples).
    """
    with RunStore(Path(run_dir), lock=False) as store:
        task_root = store.get_meta("task_root")
        saved = store.get_meta("config")
    if task_root is None or saved is None:
        raise RunStoreError(f"{str(run_dir)!r} holds no Cambrian run to resume")
    return evolve(
        task_root,
        model=model,
        run_dir=run_dir,
        config=merge_settings(saved, config or {}),
        on_event=on_event,
        handle_signals=handle_signals,
    )

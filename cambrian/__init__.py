"""Cambrian: self-evolving programs and agents.

Bring a task (a seed with EVOLVE-BLOCK markers and an evaluator) and any model;
Cambrian proposes, verifies in a sandbox, archives and selects, and returns the best
verified program with its lineage.

Exports are resolved lazily, so an evaluator's ``from cambrian import run_candidate``
loads the sandbox alone, not the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Archive": ".archive",
    "ArchiveConfig": ".archive",
    "Budget": "._config",
    "CambrianError": "._exceptions",
    "CandidateResult": ".sandbox",
    "Completion": ".models",
    "Concurrency": "._config",
    "ConfigError": "._exceptions",
    "Engine": ".engine",
    "EvalResult": ".evaluate",
    "EvaluatorConfig": ".evaluate",
    "Event": ".engine",
    "FunctionModel": ".models",
    "Limits": ".sandbox",
    "Message": ".models",
    "Model": ".models",
    "Program": ".archive",
    "ProposeConfig": "._config",
    "RunConfig": "._config",
    "RunSummary": ".engine",
    "ScriptedModel": ".models",
    "Task": ".task",
    "TaskError": "._exceptions",
    "Usage": ".models",
    "build_config": "._config",
    "evolve": "._api",
    "load_task": ".task",
    "resume": "._api",
    "run_candidate": ".sandbox",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cambrian' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ._api import evolve, resume
    from ._config import Budget, Concurrency, ProposeConfig, RunConfig, build_config
    from ._exceptions import CambrianError, ConfigError, TaskError
    from .archive import Archive, ArchiveConfig, Program
    from .engine import Engine, Event, RunSummary
    from .evaluate import EvalResult, EvaluatorConfig
    from .models import Completion, FunctionModel, Message, Model, ScriptedModel, Usage
    from .sandbox import CandidateResult, Limits, run_candidate
    from .task import Task, load_task

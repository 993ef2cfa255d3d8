"""Cambrian: self-evolving programs and agents.

Bring a task (a seed with EVOLVE-BLOCK markers and an evaluator) and any model;
Cambrian proposes, verifies in a sandbox, archives and selects, and returns the best
verified program with its lineage.
"""

__version__ = "0.1.0"

from ._api import evolve
from ._config import Budget, Concurrency, ProposeConfig, RunConfig, build_config
from ._exceptions import CambrianError, ConfigError, TaskError
from .archive import Archive, ArchiveConfig, Program
from .engine import Engine, Event, RunSummary
from .evaluate import EvalResult, EvaluatorConfig
from .models import Completion, FunctionModel, Message, Model, ScriptedModel, Usage
from .sandbox import Limits
from .task import Task, load_task

__all__ = [
    "Archive",
    "ArchiveConfig",
    "Budget",
    "CambrianError",
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
]

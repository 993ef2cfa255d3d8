"""Tasks: a seed artifact with EVOLVE-BLOCK markers plus a trusted evaluator."""

from ._loader import load_task, map_openevolve
from ._task import EvaluatorProtocol, Files, Task, TaskFormat

__all__ = ["EvaluatorProtocol", "Files", "Task", "TaskFormat", "load_task", "map_openevolve"]

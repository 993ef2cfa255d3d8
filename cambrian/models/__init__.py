"""The model seam: one async ``generate(messages, config) -> Completion``.

Providers live behind this seam; the engine only sees Cambrian's own types.
"""

from ._resolve import resolve_model
from ._testing import FunctionModel, ScriptedModel
from ._types import Completion, GenerateConfig, Message, Model, Usage

__all__ = [
    "Completion",
    "FunctionModel",
    "GenerateConfig",
    "Message",
    "Model",
    "ScriptedModel",
    "Usage",
    "resolve_model",
]

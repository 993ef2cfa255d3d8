"""The model seam: one async ``generate(messages, config) -> Completion``.

Providers live behind this seam; the engine only sees Cambrian's own types. Hosted and
local providers are addressed as ``provider/model`` specs (see :func:`resolve_model`);
their settings and prices come from the model catalog (:func:`model_info`).
"""

from ._anthropic import AnthropicModel
from ._catalog import ModelInfo, model_info
from ._ensemble import EnsembleModel
from ._openai import OpenAIModel
from ._replay import RecordingModel, ReplayModel
from ._resolve import resolve_model
from ._retry import RetryPolicy
from ._testing import FunctionModel, ScriptedModel
from ._types import Completion, GenerateConfig, Message, Model, Usage

__all__ = [
    "AnthropicModel",
    "Completion",
    "EnsembleModel",
    "FunctionModel",
    "GenerateConfig",
    "Message",
    "Model",
    "ModelInfo",
    "OpenAIModel",
    "RecordingModel",
    "ReplayModel",
    "RetryPolicy",
    "ScriptedModel",
    "Usage",
    "model_info",
    "resolve_model",
]

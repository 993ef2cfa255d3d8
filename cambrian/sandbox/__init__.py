"""Sandbox: run untrusted code in its own process tree under hard limits."""

from ._limits import Limits
from ._process import ProcessResult, describe_isolation, run_process

__all__ = [
    "Limits",
    "ProcessResult",
    "describe_isolation",
    "run_process",
]

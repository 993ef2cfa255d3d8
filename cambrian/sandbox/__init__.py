"""Sandbox: run untrusted code in its own process tree under hard limits."""

from ._backends import SandboxError, describe_isolation, diagnose, run_process
from ._candidate import CandidateResult, run_candidate
from ._limits import Limits
from ._process import ProcessResult

__all__ = [
    "CandidateResult",
    "Limits",
    "ProcessResult",
    "SandboxError",
    "describe_isolation",
    "diagnose",
    "run_candidate",
    "run_process",
]

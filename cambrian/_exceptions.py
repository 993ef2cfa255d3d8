"""Cambrian's exceptions.

Two families, decided by who must act:

* Errors the **model** caused (an edit that does not apply, code outside the
  EVOLVE-BLOCKs, a program that crashes) are *not* exceptions that escape the loop:
  they are recorded on the candidate as a :data:`~cambrian.evaluate.FailureKind` and
  fed back to the model. Inside the edit layer they travel as :class:`EditError`.
* Errors the **user or framework** caused raise and stop the run::

    CambrianError
    ├── ConfigError          bad configuration value or file
    ├── TaskError            task directory missing pieces or malformed
    ├── RunStoreError        run database missing, unwritable, or from another task
    │   └── RunLockedError   another orchestrator is driving this run
    ├── ModelError           a model cannot be used until the user acts (bad key, no
    │   │                    quota, unknown model, missing SDK): the run stops, resumable
    │   └── ModelUnavailableError   the provider is down (retries exhausted, circuit
    │                        open): the engine pauses proposals and tries again later
    ├── ModelResponseError   the model answered, but with nothing usable (malformed
    │                        body, no choices, null content): a failed proposal
    └── EditError            a model reply could not be turned into a candidate
        ├── ParseError       the reply holds no usable edit
        └── ApplyError       an edit does not match or leaves the EVOLVE-BLOCKs
"""

from __future__ import annotations

__all__ = [
    "ApplyError",
    "CambrianError",
    "ConfigError",
    "EditError",
    "ModelError",
    "ModelResponseError",
    "ModelUnavailableError",
    "ParseError",
    "RunLockedError",
    "RunStoreError",
    "TaskError",
]


class CambrianError(Exception):
    """Base class of every error Cambrian raises."""


class ConfigError(CambrianError):
    """A configuration value or file is invalid."""


class TaskError(CambrianError):
    """A task directory is missing a piece or is malformed."""


class RunStoreError(CambrianError):
    """The run database cannot be created, opened or written."""


class RunLockedError(RunStoreError):
    """Another live orchestrator holds the run directory's lock."""


class ModelError(CambrianError):
    """A model could not be called for a reason the user must fix."""


class ModelUnavailableError(ModelError):
    """The provider is unreachable or overloaded even after retries.

    Attributes:
        retry_after: Seconds the provider asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelResponseError(CambrianError):
    """The model replied with nothing usable; recorded as a ``model_error`` proposal."""


class EditError(CambrianError):
    """A model reply could not be turned into a candidate.

    The message is written *for the model*: it says what failed and how to fix it.
    ``kind`` is the failure kind recorded on the candidate.
    """

    kind: str = "edit_error"


class ParseError(EditError):
    """The reply contains no parseable edit."""

    kind = "parse_error"


class ApplyError(EditError):
    """An edit block did not apply, or touched code outside the EVOLVE-BLOCKs."""

    def __init__(self, message: str, *, kind: str = "edit_error") -> None:
        super().__init__(message)
        self.kind = kind

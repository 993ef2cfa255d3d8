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
    ├── ModelError           a model could not be called (framework side)
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

"""The engine: the async propose → evaluate → archive → select loop."""

from ._engine import Engine, default_operators
from ._events import Event, EventHandler, EventKind, RunSummary

__all__ = ["Engine", "Event", "EventHandler", "EventKind", "RunSummary", "default_operators"]

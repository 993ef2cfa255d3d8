"""Bounded capture of a process's output stream."""

from __future__ import annotations


class CappedBuffer:
    """Keeps the first and last ``cap // 2`` bytes of a stream and counts the rest.

    Memory stays bounded however much the process writes, while the start (where a
    traceback's context usually is) and the end (where the final error is) survive.
    """

    def __init__(self, cap: int) -> None:
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Append one chunk of output."""
        self.total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            excess = len(self._tail) - self._tail_cap
            if excess > 0:
                del self._tail[:excess]

    @property
    def dropped(self) -> int:
        """How many bytes were discarded from the middle of the stream."""
        return self.total - len(self._head) - len(self._tail)

    def text(self) -> str:
        """The kept output decoded as UTF-8 (undecodable bytes replaced)."""
        if not self.dropped:
            return (bytes(self._head) + bytes(self._tail)).decode("utf-8", errors="replace")
        head = bytes(self._head).decode("utf-8", errors="replace")
        tail = bytes(self._tail).decode("utf-8", errors="replace")
        return f"{head}\n[... {self.dropped} bytes dropped ...]\n{tail}"

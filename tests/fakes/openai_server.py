"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions and embeddings
and the Anthropic messages APIs, with a scriptable queue of faults.

    with FakeServer() as server:
        server.script(status(429, retry_after="2"), reply("hi"))
        ...  # point a model at server.url (OpenAI, includes /v1) or server.root (Anthropic)
        server.requests  # what the client sent: path, headers, JSON body

Each request takes the next item of the script; an empty script answers ``reply()``,
which on ``/embeddings`` is :func:`embed_text` of each input.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One scripted answer. Build with the helpers below rather than directly."""

    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str = "ok"
    finish: str = "stop"
    usage: tuple[int, int] = (11, 7)
    delay: float = 0.0


def reply(text: str = "ok", *, usage: tuple[int, int] = (11, 7), finish: str = "stop") -> Fault:
    """A normal reply with ``usage`` = (prompt, completion) tokens."""
    return Fault("reply", text=text, usage=usage, finish=finish)


def length(text: str = "truncated") -> Fault:
    """A reply cut off at the token limit (finish_reason / stop_reason says so)."""
    return Fault("reply", text=text, finish="length")


def status(
    code: int,
    *,
    retry_after: str | None = None,
    message: str = "fault injected",
    error_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Fault:
    """An HTTP error with an API-shaped error body."""
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = retry_after
    body = {"error": {"message": message, "type": error_code or "api_error", "code": error_code}}
    return Fault("status", status=code, headers=extra, body=body)


def insufficient_quota() -> Fault:
    """OpenAI's 429 that no amount of waiting fixes."""
    return status(429, message="You exceeded your current quota", error_code="insufficient_quota")


def reset() -> Fault:
    """Close the connection with a TCP RST before answering."""
    return Fault("reset")


def close() -> Fault:
    """Close the connection cleanly without answering."""
    return Fault("close")


def slow(delay: float, then: Fault | None = None) -> Fault:
    """Wait ``delay`` seconds, then answer (usually after the client gave up)."""
    inner = then or reply()
    return Fault(
        inner.kind,
        inner.status,
        inner.headers,
        inner.body,
        inner.text,
        inner.finish,
        inner.usage,
        delay,
    )


def malformed() -> Fault:
    """A 200 whose JSON body is cut short."""
    return Fault("raw", body=b'{"id": "chatcmpl-1", "choices": [')


def empty_choices() -> Fault:
    """A well-formed reply with no choices (OpenAI) / no content blocks (Anthropic)."""
    return Fault("empty")


def null_content() -> Fault:
    """A choice whose message content is null."""
    return Fault("null")


def vectors(*embeddings: Any, indices: list[Any] | None = None) -> Fault:
    """An embeddings reply holding exactly these ``embedding`` values (for malformed ones).

    Entries are numbered 0, 1, ... in the order given unless ``indices`` says otherwise.
    """
    return Fault("vectors", body={"embeddings": list(embeddings), "indices": indices})


EMBEDDING_DIMS = 64


def embed_text(text: str) -> list[float]:
    """The fake's embedding: a bag of words, each word hashed (sha256) into 64 dimensions.

    Deterministic across processes, so texts sharing words have a higher cosine.
    """
    vector = [0.0] * EMBEDDING_DIMS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % EMBEDDING_DIMS] += 1.0
    return vector


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


def _openai_body(fault: Fault, model: str) -> dict[str, Any]:
    prompt, completion = fault.usage
    choices: list[dict[str, Any]] = [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None if fault.kind == "null" else fault.text,
            },
            "finish_reason": fault.finish,
        }
    ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [] if fault.kind == "empty" else choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _anthropic_body(fault: Fault, model: str) -> dict[str, Any]:
    prompt, completion = fault.usage
    content: list[dict[str, Any]] = [{"type": "text", "text": fault.text}]
    if fault.kind in ("empty", "null"):
        content = []
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "max_tokens" if fault.finish == "length" else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


def _embeddings_body(fault: Fault, request: Any) -> dict[str, Any]:
    request = request if isinstance(request, dict) else {}
    inputs = request.get("input", [])
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    indices = None
    if fault.kind == "vectors":
        values, indices = fault.body["embeddings"], fault.body["indices"]
    elif fault.kind == "empty":
        values = []
    elif fault.kind == "null":
        values = [None] * len(inputs)
    else:
        values = [embed_text(str(text)) for text in inputs]
    tokens = sum(len(str(text).split()) for text in inputs)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": value}
            for i, value in zip(indices or range(len(values)), values, strict=True)
        ],
        "model": request.get("model", ""),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        fake = self.server.fake
        fault = fake._next(
            Recorded(
                self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
            )
        )
        if fault.delay and fake._stop.wait(fault.delay):
            return
        if fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault.kind == "close":
            self.close_connection = True
            return
        model = body.get("model", "") if isinstance(body, dict) else ""
        anthropic = self.path.rstrip("/").endswith("/messages")
        embeddings = self.path.rstrip("/").endswith("/embeddings")
        if fault.kind == "raw":
            payload = fault.body
        elif fault.kind == "status":
            err = fault.body
            if anthropic:
                err = {
                    "type": "error",
                    "error": {"type": err["error"]["type"], "message": err["error"]["message"]},
                }
            payload = json.dumps(err).encode()
        elif embeddings:
            payload = json.dumps(_embeddings_body(fault, body)).encode()
        else:
            make = _anthropic_body if anthropic else _openai_body
            payload = json.dumps(make(fault, model)).encode()
        try:
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in fault.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (slow-reply faults)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-fault are expected here


class FakeServer:
    """The fake provider. Use as a context manager; it listens on an ephemeral port."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._lock = threading.Lock()
        self._script: list[Fault] = []
        self._stop = threading.Event()
        self.requests: list[Recorded] = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def root(self) -> str:
        """Base URL without ``/v1`` (what the Anthropic SDK expects)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """Base URL with ``/v1`` (what the OpenAI SDK expects)."""
        return f"{self.root}/v1"

    def script(self, *faults: Fault) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._script.extend(faults)

    def _next(self, request: Recorded) -> Fault:
        with self._lock:
            self.requests.append(request)
            return self._script.pop(0) if self._script else reply()

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

"""The embedded local LLM: a GGUF model run on the CPU by llama.cpp, in-process.

It is Cambrian's zero-config default: with no provider configured and the default
model installed (``cambrian models install``), runs propose with Qwen2.5-Coder-1.5B.
The engine is ``xllamacpp`` (prebuilt wheels, no compiler; ``pip install
'cambrian[local]'``), which wraps llama.cpp's server: it applies the chat template
stored in the GGUF, reports real token counts, and releases the GIL while it works,
so a call run in a worker thread leaves the engine's event loop responsive.
(``llama-cpp-python`` is deliberately not used: its default source build targets
``-march=native`` and crashed on the first token on the machines we measured.)

Nothing is downloaded at run time: a missing model file is a :class:`ModelError`
telling the user how to install it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from .._exceptions import ModelError, ModelResponseError
from ._gguf import read_gguf_header
from ._install import DEFAULT_LOCAL_MODEL, KNOWN_MODELS, find_model_file, models_dir
from ._types import Completion, GenerateConfig, Message, Usage

__all__ = ["DEFAULT_LOCAL_MODEL", "LocalModel", "local_model_available"]

INSTALL_HINT = "pip install 'cambrian[local]'"

# Without a cap a small model that starts repeating itself would fill the whole
# context (minutes of CPU time); a full EVOLVE-block rewrite fits well within this.
DEFAULT_MAX_TOKENS = 2048


def local_model_available(name: str = DEFAULT_LOCAL_MODEL) -> bool:
    """Whether ``local/<name>`` can run now without downloading anything.

    True when the model file is there and the ``xllamacpp`` engine is importable; the
    engine uses it to pick the local model as the zero-config default.
    """
    if find_model_file(name) is None:
        return False
    # find_spec, not import: probing must not load the 30 MB native library.
    return importlib.util.find_spec("xllamacpp") is not None


def _default_threads() -> int:
    try:
        # The CPUs this process may use (cgroups/taskset), not the machine's total.
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


class LocalModel:
    """A GGUF model run in-process by llama.cpp (through ``xllamacpp``).

    The model is loaded on the first call (once, even under concurrent calls) and
    kept; concurrent calls queue inside llama.cpp's server loop.

    Args:
        name: ``"qwen2.5-coder-1.5b"`` (the default, installed by ``cambrian models
            install``), the name of another file in the models directory, or a path
            to a ``.gguf`` file.
        gguf_path: Use this file, whatever ``name`` says (``name`` then only labels
            the model on candidates).
        n_ctx: Context window in tokens (prompt plus reply).
        threads: CPU threads; default: every CPU this process may use.

    Example:
        >>> model = LocalModel("qwen2.5-coder-1.5b")  # doctest: +SKIP
        >>> await model.generate([Message("user", "Write a haiku about sorting.")])
    """

    def __init__(
        self,
        name: str = DEFAULT_LOCAL_MODEL,
        *,
        gguf_path: str | os.PathLike[str] | None = None,
        n_ctx: int = 8192,
        threads: int | None = None,
    ) -> None:
        label = Path(name).stem if name.endswith(".gguf") or os.sep in name else name
        self.name = f"local/{label}"
        self._spec = name
        self._gguf_path = Path(gguf_path).expanduser() if gguf_path is not None else None
        self._n_ctx = n_ctx
        self._threads = threads or _default_threads()
        self._server: Any = None
        self._load_lock = threading.Lock()

    @property
    def context_window(self) -> int:
        """Tokens the model sees at once (prompt plus reply)."""
        return self._n_ctx

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory."""
        return self._server is not None

    def model_path(self) -> Path:
        """The GGUF file this model runs.

        Raises:
            ModelError: The file is not there; the message says how to install it.
        """
        if self._gguf_path is not None:
            if not self._gguf_path.is_file():
                raise ModelError(f"local model file {str(self._gguf_path)!r} does not exist")
            return self._gguf_path
        path = find_model_file(self._spec)
        if path is not None:
            return path
        override = os.environ.get("CAMBRIAN_LOCAL_MODEL")
        if self._spec == DEFAULT_LOCAL_MODEL and override:
            raise ModelError(f"CAMBRIAN_LOCAL_MODEL={override!r} is not a file")
        if self._spec in KNOWN_MODELS:
            raise ModelError(
                f"local model {self._spec!r} is not installed; run `cambrian models install"
                + ("`" if self._spec == DEFAULT_LOCAL_MODEL else f" --name {self._spec}`")
                + f" (about 1.1 GB, into {str(models_dir())!r}), or point CAMBRIAN_LOCAL_MODEL"
                " at a GGUF file"
            )
        raise ModelError(
            f"local model {self._spec!r} not found: not a known model "
            f"({sorted(KNOWN_MODELS)}), not a .gguf path, and not a file in "
            f"{str(models_dir())!r}; see `cambrian models list`"
        )

    def load(self) -> Any:
        """Load the weights now (otherwise the first :meth:`generate` does it).

        Returns:
            The engine's server object (opaque to callers).

        Raises:
            ModelError: ``xllamacpp`` is not installed, or the model file is missing
                or cannot be loaded.
        """
        with self._load_lock:
            if self._server is None:
                self._server = self._start_server()
            return self._server

    def _start_server(self) -> Any:
        path = self.model_path()
        # llama.cpp only says "failed to init server"; the header check names the problem.
        read_gguf_header(path)
        try:
            import xllamacpp
        except ImportError as exc:
            raise ModelError(
                f"the local model needs the xllamacpp package: {INSTALL_HINT}"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = self._n_ctx
        params.n_parallel = 1  # one slot gets the whole context; calls queue
        params.cpuparams.n_threads = self._threads
        params.cpuparams_batch.n_threads = self._threads
        params.verbosity = -1  # llama.cpp's per-request logs would flood the run's stderr
        # The server also listens on a loopback port; a random key keeps candidate
        # programs on the same machine from using it. In-process calls bypass it.
        params.api_keys = [secrets.token_urlsafe(24)]
        try:
            return xllamacpp.Server(params)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"llama.cpp could not load {str(path)!r}: {exc}") from exc

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        """Answer ``messages`` with the local model, off the event loop.

        Raises:
            ModelError: The engine or the model file is missing.
            ModelResponseError: llama.cpp answered with an error (e.g. the prompt
                does not fit the context) or with no text.
        """
        server = self._server
        if server is None:
            server = await asyncio.to_thread(self.load)
        request = self._request(messages, config or GenerateConfig())
        reply = await asyncio.to_thread(server.handle_chat_completions, request)
        return self._completion(reply)

    def _request(self, messages: list[Message], config: GenerateConfig) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": config.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if config.temperature is not None:
            request["temperature"] = config.temperature
        if config.seed is not None:
            request["seed"] = config.seed
        return request

    def _completion(self, reply: Any) -> Completion:
        if not isinstance(reply, dict):
            raise ModelResponseError(f"{self.name}: llama.cpp returned {type(reply).__name__}")
        error = reply.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise ModelResponseError(f"{self.name}: llama.cpp error: {message}")
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"]
            usage = reply.get("usage") or {}
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelResponseError(f"{self.name}: malformed llama.cpp reply: {exc!r}") from exc
        if not isinstance(text, str) or not text.strip():
            raise ModelResponseError(f"{self.name}: the model returned no text")
        return Completion(
            text=text,
            model=self.name,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                cost=0.0,
            ),
            finish_reason=str(choice.get("finish_reason") or "stop"),
        )

    def close(self) -> None:
        """Free the weights; a later call loads them again."""
        with self._load_lock:
            self._server = None

"""The embedding retriever against the fake OpenAI-compatible server over loopback HTTP.

The fake embeds a text as its bag of words hashed into 64 dimensions, so documents that
share the query's words must rank first. Time is injected, so backoff costs nothing.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai  # noqa: F401  (its multi-second import belongs to collection, not a test)
import pytest
from fakes.clock import Clock, fast_policy
from fakes.network import NetworkGuard, network_guard
from fakes.openai_server import (
    FakeServer,
    embed_text,
    empty_choices,
    malformed,
    null_content,
    reset,
    slow,
    status,
    vectors,
)

from cambrian._exceptions import ConfigError, ModelError, ModelResponseError, ModelUnavailableError
from cambrian.memory._embeddings import EmbeddingRetriever

KEY = "sk-test-SECRET-0123456789abcdef"
QUERY = "sort a list of numbers quickly"
DOCS = [
    "the evaluator times out on large inputs",
    "use a heap to sort numbers quickly in a list",
    "numbers overflow when squared",
]

__all__ = ["network_guard"]  # the fixture, imported for use below


@pytest.fixture(autouse=True)
def _isolated(network_guard: NetworkGuard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMBRIAN_MODELS_FILE", str(tmp_path / "no-user-catalog.toml"))
    for var in ("OPENAI_API_KEY", "OPENAI_COMPATIBLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def retriever(server: FakeServer, clock: Clock, **options: Any) -> EmbeddingRetriever:
    policy = fast_policy(
        clock,
        **{k: options.pop(k) for k in ("max_attempts", "timeout") if k in options},
    )
    return EmbeddingRetriever(
        "fake-embed", base_url=server.url, api_key=KEY, policy=policy, **options
    )


def rank(r: EmbeddingRetriever, query: str, documents: list[str]) -> list[float]:
    async def call() -> list[float]:
        try:
            return await r.rank(query, documents)
        finally:
            await r.aclose()

    return asyncio.run(call())


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def inputs(server: FakeServer) -> list[list[str]]:
    return [request.body["input"] for request in server.requests]


def test_the_document_sharing_the_query_words_ranks_first(server: FakeServer, clock: Clock) -> None:
    scores = rank(retriever(server, clock), QUERY, DOCS)
    assert max(range(len(DOCS)), key=scores.__getitem__) == 1
    q = embed_text(QUERY)
    assert scores == [pytest.approx(cosine(q, embed_text(d))) for d in DOCS]
    assert scores[1] > scores[2] > scores[0]
    [sent] = server.requests
    assert sent.path == "/v1/embeddings"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {"model": "fake-embed", "input": [QUERY, *DOCS], "encoding_format": "float"}
    assert clock.sleeps == []


def test_documents_go_in_batches_with_the_query_in_the_first(
    server: FakeServer, clock: Clock
) -> None:
    topics = ["heap sort", "graph search", "cache misses", "regex parsing", "matrix tiling"]
    docs = [f"note {i} on {topics[i % 5]}" for i in range(150)]
    scores = rank(retriever(server, clock, batch_size=64), "graph search", docs)
    assert [len(batch) for batch in inputs(server)] == [64, 64, 23]
    assert [text for batch in inputs(server) for text in batch] == ["graph search", *docs]
    on_topic = [s for i, s in enumerate(scores) if i % 5 == 1]
    assert min(on_topic) > max(s for i, s in enumerate(scores) if i % 5 != 1)


def test_cached_documents_are_not_sent_again(server: FakeServer, clock: Clock) -> None:
    r = retriever(server, clock)
    first = rank(r, QUERY, DOCS)
    assert rank(r, QUERY, DOCS) == first  # another event loop, same cache: no request
    assert len(server.requests) == 1
    rank(r, "heap overflow", [*DOCS, DOCS[0]])
    assert inputs(server)[1:] == [["heap overflow"]]  # only the new query


def test_duplicates_and_blank_texts_are_not_sent(server: FakeServer, clock: Clock) -> None:
    scores = rank(retriever(server, clock), QUERY, [DOCS[1], "  ", DOCS[1], ""])
    assert inputs(server) == [[QUERY, DOCS[1]]]
    assert scores[0] == scores[2] > 0 and scores[1] == scores[3] == 0.0
    assert rank(retriever(server, clock), " ", DOCS) == [0.0, 0.0, 0.0]
    assert rank(retriever(server, clock), QUERY, []) == []
    assert len(server.requests) == 1


def test_the_cache_is_bounded_least_recently_used_first_out(
    server: FakeServer, clock: Clock
) -> None:
    a, b, c = DOCS
    r = retriever(server, clock, cache_size=3)
    rank(r, QUERY, [a, b])  # cached: QUERY, a, b
    rank(r, QUERY, [c])  # QUERY is used again, so a, the least recent, makes room for c
    rank(r, QUERY, [a, b])
    assert inputs(server) == [[QUERY, a, b], [c], [a]]


def test_a_cache_smaller_than_one_call_still_scores_every_document(
    server: FakeServer, clock: Clock
) -> None:
    r = retriever(server, clock, cache_size=2)
    first = rank(r, QUERY, DOCS)
    assert first == [pytest.approx(cosine(embed_text(QUERY), embed_text(d))) for d in DOCS]
    # The cache kept the last two (DOCS[1], DOCS[2]); the query and DOCS[0] were evicted.
    assert rank(r, QUERY, DOCS) == first
    assert inputs(server) == [[QUERY, *DOCS], [QUERY, DOCS[0]]]


@pytest.mark.parametrize(
    "fault", [status(500), status(429, retry_after="2"), reset()], ids=["500", "429", "reset"]
)
def test_transient_failures_are_retried(server: FakeServer, clock: Clock, fault: Any) -> None:
    server.script(fault)
    scores = rank(retriever(server, clock), QUERY, DOCS)
    assert max(range(len(DOCS)), key=scores.__getitem__) == 1
    assert len(server.requests) == 2 and len(clock.sleeps) == 1


def test_a_slow_reply_times_out_and_is_retried(server: FakeServer, clock: Clock) -> None:
    server.script(slow(3.0))
    assert len(rank(retriever(server, clock, timeout=0.3), QUERY, DOCS)) == 3
    assert len(server.requests) == 2


def test_exhausted_retries_raise_unavailable(server: FakeServer, clock: Clock) -> None:
    server.script(status(503), status(503))
    with pytest.raises(ModelUnavailableError, match="gave up after 2 attempts"):
        rank(retriever(server, clock, max_attempts=2), QUERY, DOCS)


@pytest.mark.parametrize(
    ("code", "words"), [(401, "key was rejected"), (403, "permission"), (404, "not found")]
)
def test_client_errors_stop_without_retry(
    server: FakeServer, clock: Clock, code: int, words: str
) -> None:
    server.script(status(code, message=f"Incorrect API key provided: {KEY}"))
    with pytest.raises(ModelError, match=words) as info:
        rank(retriever(server, clock), QUERY, DOCS)
    assert not isinstance(info.value, ModelUnavailableError)
    assert KEY not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert len(server.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (vectors([1.0], [0.0]), r"2 embeddings for 4 inputs"),
        (empty_choices(), r"0 embeddings for 4 inputs"),
        (vectors([1.0], [2.0], ["x"], [3.0]), r"embedding 2 holds 'x', not a finite number"),
        (vectors([1.0], [2.0], [None], [3.0]), r"embedding 2 holds None"),
        (vectors([1.0], [], [2.0], [3.0]), r"embedding 1 is an empty vector"),
        (null_content(), r"embedding 0 is NoneType"),
        (vectors([1.0], [2.0, 0.0], [1.0], [1.0]), r"different dimensions \[1, 2\]"),
        (malformed(), r"malformed response body"),
    ],
    ids=["count", "none", "string", "null-number", "empty", "null", "dims", "cut-json"],
)
def test_malformed_replies_are_response_errors(
    server: FakeServer, clock: Clock, fault: Any, words: str
) -> None:
    server.script(fault)
    with pytest.raises(ModelResponseError, match=words):
        rank(retriever(server, clock), QUERY, DOCS)
    assert len(server.requests) == 1 and clock.sleeps == []


def test_dimensions_differing_across_requests_are_response_errors(
    server: FakeServer, clock: Clock
) -> None:
    r = retriever(server, clock)
    rank(r, QUERY, DOCS)
    server.script(vectors([1.0, 0.0]))  # the server now embeds in 2 dimensions
    with pytest.raises(ModelResponseError, match="document 0's embedding has 64 dimensions"):
        rank(r, "another query", DOCS)


def test_indices_put_vectors_back_in_input_order(server: FakeServer, clock: Clock) -> None:
    q, d0, d1 = embed_text(QUERY), embed_text(DOCS[0]), embed_text(DOCS[1])
    server.script(vectors(d1, q, d0, indices=[2, 0, 1]))
    scores = rank(retriever(server, clock), QUERY, [DOCS[0], DOCS[1]])
    assert scores == [pytest.approx(cosine(q, d0)), pytest.approx(cosine(q, d1))]
    server.script(vectors([1.0], [1.0], [1.0], indices=[0, 0, 1]))
    with pytest.raises(ModelResponseError, match=r"indices \[0, 0, 1\] are not 0..2"):
        rank(retriever(server, clock), "other", [DOCS[0], DOCS[2]])


def test_spec_for_a_local_server_needs_no_key(
    server: FakeServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    r = EmbeddingRetriever.from_spec(
        f"openai-compatible/fake-embed@{server.url}", policy=fast_policy(clock)
    )
    # The catalog's "not in the catalog, cost $0" warning speaks of chat models.
    assert "not in the catalog" not in caplog.text
    assert repr(r) == f"EmbeddingRetriever('openai-compatible/fake-embed@{server.url}')"
    rank(r, QUERY, DOCS)
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"
    assert server.requests[0].body["model"] == "fake-embed"


def test_spec_keys_come_from_their_provider_variable(
    server: FakeServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-000000")
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "sk-local-key-000000")
    for spec in (
        f"openai-compatible/e@{server.url}",
        f"openai/text-embedding-3-small@{server.url}",
    ):
        rank(EmbeddingRetriever.from_spec(spec, policy=fast_policy(clock)), QUERY, DOCS)
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer sk-local-key-000000",
        "Bearer sk-openai-key-000000",
    ]


def test_the_openai_key_is_never_sent_to_another_server(
    server: FakeServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-000000")
    r = EmbeddingRetriever("e", base_url=server.url, policy=fast_policy(clock))
    rank(r, QUERY, DOCS)
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_openai_without_a_key_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        EmbeddingRetriever.from_spec("openai/text-embedding-3-small")
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        EmbeddingRetriever("text-embedding-3-small")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("anthropic/claude-sonnet-4-5", "need an OpenAI-compatible provider"),
        ("text-embedding-3-small", "is not 'provider/model'"),
        ("nowhere/embed", "unknown provider 'nowhere'"),
    ],
)
def test_unusable_specs_are_config_errors(spec: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        EmbeddingRetriever.from_spec(spec)


def test_bad_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="batch_size 0"):
        EmbeddingRetriever("e", base_url="http://127.0.0.1:9/v1", batch_size=0)
    with pytest.raises(ConfigError, match="cache_size -1"):
        EmbeddingRetriever("e", base_url="http://127.0.0.1:9/v1", cache_size=-1)


def test_missing_sdk_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ModelError, match=r"pip install 'cambrian\[openai\]'"):
        EmbeddingRetriever.from_spec("openai-compatible/e@http://127.0.0.1:9/v1")


def test_the_learner_reranks_lexical_hits_with_embeddings(
    server: FakeServer, tmp_path: Path
) -> None:
    from conftest import write_task

    from cambrian._config import MemoryConfig
    from cambrian.memory import Learner, MemoryStore, Record
    from cambrian.models import ScriptedModel
    from cambrian.task import load_task

    memory = tmp_path / "memory.db"
    with MemoryStore(memory) as store:
        for text in DOCS:  # all share the task's tag; BM25 alone ranks by word overlap
            store.add(Record(kind="insight", text=text, polarity="guiding", tags=("t",)))
    spec = f"openai-compatible/fake-embed@{server.url}"
    config = MemoryConfig(path=str(memory), embeddings=spec, retrieve=1, evolve_prompts=False)

    async def spend(purpose: str, completion: object) -> None:
        raise AssertionError("retrieval is not a model call")

    learner = Learner(
        config,
        load_task(write_task(tmp_path / "t")),
        ScriptedModel(["unused"]),
        run_db=tmp_path / "run.db",
        run_id="run-test",
        spend=spend,
    )

    async def retrieve() -> list[Record]:
        try:
            return await learner._retrieve(QUERY)
        finally:
            await learner.aclose()

    (top,) = asyncio.run(retrieve())
    assert top.text == DOCS[1]
    assert any(r.path.endswith("/embeddings") for r in server.requests)

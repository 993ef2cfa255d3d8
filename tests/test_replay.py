"""Recording model calls into a ``calls`` table and replaying a run from it."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path

import pytest

from cambrian import evolve
from cambrian._exceptions import ModelError, ModelResponseError
from cambrian.models import Completion, FunctionModel, GenerateConfig, Message, ScriptedModel, Usage
from cambrian.models._calls import (
    ensure_calls_table,
    find_reply,
    prompt_hash,
    record_call,
    recorded_calls,
)
from cambrian.models._replay import RecordingModel, ReplayModel

CONFIG = {
    "budget": {"max_samples": 6},
    "concurrency": {"proposals": 1, "evaluations": 1},
    "propose": {"operators": {"rewrite": 1.0}},
    "seed": 3,
}


def rewrite(x: float, y: float) -> str:
    return f"Moving towards the optimum.\n```python\nX = {x}\nY = {y}\n```\n"


def programs(run_dir: Path) -> list[tuple[str, int | None, float | None, str | None]]:
    db = sqlite3.connect(run_dir / "run.db")
    try:
        return db.execute(
            "SELECT code_hash, parent_id, score, model FROM programs ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    ensure_calls_table(db)
    return db


def ask(model: object, text: str, seed: int | None = 1) -> Completion:
    messages = [Message("system", "You improve programs."), Message("user", text)]
    return asyncio.run(model.generate(messages, GenerateConfig(seed=seed)))  # type: ignore[attr-defined]


def test_recorded_run_replays_the_same_programs_and_scores(quad_task: Path, tmp_path: Path) -> None:
    replies = [
        rewrite(0.4, 1.9),
        "I would rather not change anything.",  # no edit: reflected, then re-asked
        rewrite(0.5, 1.8),
        rewrite(0.6, 1.6),
        rewrite(0.65, 1.55),
        rewrite(0.7, 1.5),
        rewrite(0.69, 1.5),
        rewrite(0.71, 1.5),
        rewrite(0.7, 1.51),
    ]
    recorded_dir = tmp_path / "a"
    recorded_dir.mkdir()
    # Record into the run's own database, next to the engine's RunStore connection.
    recorder = RecordingModel(ScriptedModel(replies, name="scripted-rec"), record=recorded_dir)
    first = evolve(quad_task, model=recorder, run_dir=recorded_dir, config=CONFIG)
    db = sqlite3.connect(recorded_dir / "run.db")
    try:
        calls = list(recorded_calls(db))
    finally:
        db.close()
    assert len(calls) >= 7  # six samples plus at least the reflected re-ask
    assert all(c.completion.model == "scripted-rec" for c in calls)
    assert calls[1].completion.text == replies[1]

    replay = ReplayModel(recorded_dir)
    assert replay.name == "scripted-rec"
    second = evolve(quad_task, model=replay, run_dir=tmp_path / "b", config=CONFIG)

    recorded, replayed = programs(recorded_dir), programs(tmp_path / "b")
    assert len(recorded) == 7
    assert replayed == recorded
    assert second.best_score == first.best_score and second.samples == first.samples
    assert second.cost == first.cost


def test_compression_shrinks_a_large_prompt(tmp_path: Path) -> None:
    db = connect(tmp_path / "calls.db")
    code = "".join(f"def f{i}(x):\n    return x * {i} + 1\n\n" for i in range(400))
    messages = [Message("system", "You improve programs."), Message("user", code)]
    record_call(db, messages, None, Completion(code, model="m"))
    stored, reply = db.execute("SELECT length(messages), length(reply) FROM calls").fetchone()
    assert len(code) > 10_000
    assert stored < len(code) / 4 and reply < len(code) / 4
    (call,) = recorded_calls(db)
    assert call.messages == messages and call.completion.text == code
    db.close()


def test_identical_prompts_replay_in_recorded_order(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    answers = iter(["first", "second", "third"])
    recorder = RecordingModel(FunctionModel(lambda _: next(answers), name="fn"), record=path)
    assert [ask(recorder, "same prompt").text for _ in range(3)] == ["first", "second", "third"]
    asyncio.run(recorder.aclose())

    db = sqlite3.connect(path)
    assert [(c.occurrence, c.completion.text) for c in recorded_calls(db)] == [
        (0, "first"),
        (1, "second"),
        (2, "third"),
    ]
    digest = prompt_hash(
        [Message("system", "You improve programs."), Message("user", "same prompt")],
        GenerateConfig(seed=1),
    )
    found = find_reply(db, digest, 1)
    assert found is not None and found.completion.text == "second"
    assert find_reply(db, digest, 3) is None
    db.close()

    replay = ReplayModel(path)
    assert [ask(replay, "same prompt").text for _ in range(3)] == ["first", "second", "third"]
    with pytest.raises(ModelError, match=r"recorded 3 time\(s\) but is now sent a 4th time"):
        ask(replay, "same prompt")
    asyncio.run(replay.aclose())


def test_strict_replay_of_a_changed_prompt_names_the_difference(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    recorder = RecordingModel(FunctionModel(lambda _: "ok", name="fn"), record=path)
    ask(recorder, "Improve this:\nX = 0.3\nY = 2.0\n")
    ask(recorder, "Something unrelated entirely")
    asyncio.run(recorder.aclose())

    replay = ReplayModel(path)
    with pytest.raises(ModelError) as info:
        ask(replay, "Improve this:\nX = 0.4\nY = 2.0\n")
    message = str(info.value)
    assert "never recorded" in message and "call #1" in message
    assert "message 1 (user) first differs at line 2" in message
    assert "recorded 'X = 0.3', now 'X = 0.4'" in message
    assert "strict=False" in message

    with pytest.raises(ModelError, match=r"settings differ \(seed 1 -> 2\)"):
        ask(replay, "Improve this:\nX = 0.3\nY = 2.0\n", seed=2)
    asyncio.run(replay.aclose())


def test_non_strict_replay_falls_back_to_recorded_replies_in_order(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    answers = iter(["one", "two", "three"])
    recorder = RecordingModel(FunctionModel(lambda _: next(answers), name="fn"), record=path)
    for text in ("a", "b", "c"):
        ask(recorder, text)
    asyncio.run(recorder.aclose())

    replay = ReplayModel(path, strict=False)
    # "b" matches exactly; the unknown prompts take the unused replies in recording order.
    assert [ask(replay, t).text for t in ("b", "zzz", "yyy")] == ["two", "one", "three"]
    with pytest.raises(ModelError, match="exhausted"):
        ask(replay, "more")
    asyncio.run(replay.aclose())


def test_replay_never_modifies_the_recorded_database(quad_task: Path, tmp_path: Path) -> None:
    recorded_dir = tmp_path / "a"
    recorded_dir.mkdir()
    replies = [rewrite(0.3 + i / 20, 2.0 - i / 20) for i in range(1, 7)]
    recorder = RecordingModel(ScriptedModel(replies), record=recorded_dir)
    evolve(quad_task, model=recorder, run_dir=recorded_dir, config=CONFIG)
    before = sha256(recorded_dir / "run.db")

    replay = ReplayModel(recorded_dir)
    evolve(quad_task, model=replay, run_dir=tmp_path / "b", config=CONFIG)
    # The ReplayModel's connection is read-only: SQLite itself refuses a write.
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        replay._connect().execute("DELETE FROM calls")
    asyncio.run(replay.aclose())
    assert sha256(recorded_dir / "run.db") == before


def test_failed_calls_propagate_and_are_not_recorded(tmp_path: Path) -> None:
    def flaky(messages: list[Message]) -> str:
        if "bad" in messages[-1].content:
            raise ModelResponseError("the provider returned no choices")
        return "fine"

    seen: list[tuple[list[Message], GenerateConfig | None, Completion]] = []
    recorder = RecordingModel(
        FunctionModel(flaky, name="fn"),
        record=lambda messages, config, completion: seen.append((messages, config, completion)),
    )
    assert recorder.name == "fn"
    ask(recorder, "good")
    with pytest.raises(ModelResponseError, match="no choices"):
        ask(recorder, "bad")
    ask(recorder, "good again")
    assert [s[0][-1].content for s in seen] == ["good", "good again"]
    assert seen[0][1] == GenerateConfig(seed=1) and seen[0][2].text == "fine"


def test_recorded_calls_keep_usage_settings_and_odd_text(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "calls.db")  # Python's legacy transaction mode
    ensure_calls_table(db)
    messages = [Message("user", "naïve ☃ and a lone surrogate \udc80")]
    config = GenerateConfig(temperature=0.7, max_tokens=512, seed=9)
    reply = Completion(
        "answer \udcff ✓", model="m/1", usage=Usage(11, 22, 0.5), finish_reason="length"
    )
    record_call(db, messages, config, reply)
    assert not db.in_transaction  # committed, not left pending
    (call,) = recorded_calls(db)
    assert call.messages == messages and call.config == config and call.completion == reply
    assert call.prompt_hash == prompt_hash(messages, config)
    assert prompt_hash(messages, config) != prompt_hash(messages, GenerateConfig(seed=9))
    db.close()


def test_replay_of_a_run_without_recordings_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="expected a run directory"):
        ReplayModel(tmp_path / "missing")
    connect(tmp_path / "empty.db").close()
    with pytest.raises(ModelError, match="holds no recorded model calls"):
        ReplayModel(tmp_path / "empty.db")

"""The `cambrian` command: run, status, best, export, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from cambrian.cli import main


def test_run_status_best_export(
    quad_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert (
        main(["run", str(quad_task), "--run-dir", str(run), "--max-samples", "12", "--seed", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "numeric_mutation (built-in, no LLM" in out
    assert "stopped: max_samples reached" in out

    assert main(["status", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["samples"] == 12 and info["max_samples"] == 12 and info["live"] is False
    assert info["by_status"] == {"done": 13}
    assert info["best_score"] >= info["seed_score"]

    assert main(["status", str(run)]) == 0
    assert "best score" in capsys.readouterr().out

    assert main(["best", str(run), "--out", str(tmp_path / "best")]) == 0
    best_code = (tmp_path / "best" / "program.py").read_text()
    assert "EVOLVE-BLOCK-START" in best_code

    export = tmp_path / "all.jsonl"
    assert main(["export", str(run), "--out", str(export)]) == 0
    records = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(records) == 13
    ids = {r["id"] for r in records}
    assert all(r["parent_id"] in ids for r in records if r["operator"] != "seed")
    best = max((r for r in records if r["correct"]), key=lambda r: r["score"])
    assert best["files"]["program.py"] == best_code
    assert best["score"] == info["best_score"]


def test_user_errors_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["status", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                str(FIXTURES / "shinka_circle"),
                "--run-dir",
                str(tmp_path / "r"),
                "--model",
                "gpt-9",
            ]
        )
        == 2
    )
    assert "unknown model spec" in capsys.readouterr().err


def test_doctor_reports_isolation(capsys: pytest.CaptureFixture[str]) -> None:
    from cambrian.sandbox import describe_isolation

    assert main(["doctor", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["isolation"] == describe_isolation()
    assert info["backend"] in ("bwrap", "process")


def test_run_header_warns_when_the_evaluator_runs_candidates_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert (
        main(["run", str(FIXTURES / "shinka_circle"), "--run-dir", str(run), "--max-samples", "1"])
        == 0
    )
    assert "weaker isolation" in capsys.readouterr().out


def test_model_choice_defaults_to_the_embedded_llm_only_when_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cambrian.cli import _main

    monkeypatch.setattr(_main, "local_model_available", lambda: True)
    assert _main._choose_model(None)[0] == f"local/{_main.DEFAULT_LOCAL_MODEL}"
    assert _main._choose_model("none")[0] is None
    assert _main._choose_model("openai/gpt-5-mini")[0] == "openai/gpt-5-mini"
    monkeypatch.setattr(_main, "local_model_available", lambda: False)
    model, proposer = _main._choose_model(None)
    assert model is None and "cambrian models install" in proposer


def test_memory_flags_recall_or_not(
    quad_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = tmp_path / "memory.db"
    base = ["run", str(quad_task), "--max-samples", "20", "--memory", str(memory)]
    assert main([*base, "--run-dir", str(tmp_path / "one")]) == 0
    out = capsys.readouterr().out
    assert f"memory: {memory} (recall 2" in out and "programs_kept 1" in out
    assert main(["memory", "list", "--memory", str(memory), "--kind", "program"]) == 0
    listed = capsys.readouterr().out
    assert "1 records" in listed and "score " in listed

    assert main([*base, "--run-dir", str(tmp_path / "two"), "--max-samples", "2"]) == 0
    out = capsys.readouterr().out
    assert "recalled 1 program(s) from memory, evaluated again first: program 2 ← prg-" in out
    assert main(["status", str(tmp_path / "two"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    # The recalled program (id 2) had the best score before any proposal.
    assert (info["samples_to_best"] == 0) == (info["best_id"] == 2)
    assert info["operators"]["recall"] == 1

    for flags in (["--recall", "0"], ["--no-memory"]):
        run_dir = tmp_path / flags[-1].strip("-")
        assert main([*base, "--run-dir", str(run_dir), "--max-samples", "2", *flags]) == 0
        out = capsys.readouterr().out
        assert "recalled" not in out
        assert ("memory: off" in out) == (flags == ["--no-memory"])

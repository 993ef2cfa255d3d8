"""Strict parsing of evaluator results (no processes)."""

from __future__ import annotations

import json

import pytest

from cambrian.evaluate import ResultError, parse_result
from cambrian.evaluate._parse import MAX_ARTIFACT_CHARS, MAX_RESULT_BYTES, parse_correct


def test_numbers_strings_and_nested_objects() -> None:
    parsed = parse_result(
        json.dumps(
            {
                "combined_score": 3,
                "time": 0.5,
                "public": {"n": 2, "deep": {"k": 1.0}, "s": "text"},
                "ok": False,
                "maybe": None,
                "text_feedback": "more",
            }
        )
    )
    assert parsed.combined_score == 3.0
    assert parsed.metrics == {
        "combined_score": 3.0,
        "time": 0.5,
        "public.n": 2.0,
        "public.deep.k": 1.0,
    }
    assert parsed.artifacts == {"public.s": "text", "ok": "False"}
    assert parsed.feedback == "more"
    assert parsed.correct is True
    assert parsed.warnings == ["ignored 'maybe': null"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"combined_score": NaN}', "'combined_score' is NaN"),
        ('{"combined_score": -Infinity}', "'combined_score' is -Infinity"),
        ('{"combined_score": 1e999}', "finite"),
        ('{"combined_score": true}', "must be a finite number"),
        ('{"combined_score": null}', "must be a finite number"),
        ('{"score": 1}', "no 'combined_score'"),
        ("[1]", "JSON object"),
        ('"x"', "JSON object"),
        ("{'combined_score': 1}", "not valid JSON"),
        ('{"combined_score": 1, "a": {"b": {"c": {"d": {"e": 1}}}}}', "deeper"),
        ('{"combined_score": 1, "feedback": 3}', "'feedback' must be a string"),
        ('{"combined_score": 1, "correct": 1}', "'correct' must be true or false"),
        ('{"combined_score": 1, "x": [1]}', "'x' has type list"),
        ('{"combined_score": 1, "p": {"y": NaN}}', "'p.y' is NaN"),
    ],
)
def test_rejections_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ResultError) as info:
        parse_result(text)
    assert message in str(info.value)


def test_size_cap() -> None:
    text = json.dumps({"combined_score": 1, "pad": "x" * MAX_RESULT_BYTES})
    with pytest.raises(ResultError, match="bytes"):
        parse_result(text)


def test_mapping_input_checks_python_values() -> None:
    with pytest.raises(ResultError, match="finite"):
        parse_result({"combined_score": float("inf")})
    with pytest.raises(ResultError, match="does not fit"):
        parse_result({"combined_score": 10**400})


def test_long_strings_are_truncated() -> None:
    parsed = parse_result({"combined_score": 0, "log": "y" * (MAX_ARTIFACT_CHARS + 10)})
    assert parsed.artifacts["log"].startswith("y" * MAX_ARTIFACT_CHARS)
    assert "10 characters truncated" in parsed.artifacts["log"]


def test_parse_correct() -> None:
    assert parse_correct('{"correct": true, "error": null}') == (True, "")
    assert parse_correct('{"correct": false, "error": "boom"}') == (False, "boom")
    with pytest.raises(ResultError):
        parse_correct('{"correct": "yes"}')


def test_evaluator_can_report_the_candidates_failure_kind() -> None:
    from cambrian.evaluate import parse_result

    parsed = parse_result({"combined_score": 0.0, "failure": "timeout", "feedback": "too slow"})
    assert parsed.failure == "timeout" and parsed.correct is False
    with pytest.raises(ResultError, match="'failure' must be one of"):
        parse_result({"combined_score": 0.0, "failure": "bored"})

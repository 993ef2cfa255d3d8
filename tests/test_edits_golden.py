"""Run the golden corpus of model replies in tests/golden/edits/.

Each case folder holds ``case.json`` (what to expect), ``files/`` (the parent
artifact), ``reply.md`` (the model's reply, byte-exact) and, for replies that must
apply, ``expected/`` (the whole resulting artifact).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cambrian._exceptions import EditError
from cambrian.edits import apply_reply

CORPUS = Path(__file__).parent / "golden" / "edits"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.json").is_file())


def _read_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_golden_case(case: Path) -> None:
    meta = json.loads((case / "case.json").read_text())
    files = _read_tree(case / "files")
    before = dict(files)
    reply = (case / "reply.md").read_bytes().decode()
    expect = meta["expect"]
    kwargs = {"default_path": meta["default_path"], "mode": meta["mode"]}
    if "error" in expect:
        with pytest.raises(EditError) as info:
            apply_reply(files, reply, **kwargs)
        message = str(info.value)
        assert info.value.kind == expect["error"], message
        for piece in expect["message_contains"]:
            assert piece in message, f"{piece!r} not in:\n{message}"
        assert len(message) < 2100
    else:
        applied = apply_reply(files, reply, **kwargs)
        assert applied.files == _read_tree(case / "expected")
        assert applied.format == expect["format"]
        assert applied.fuzz == expect["fuzz"]
        assert applied.blocks == expect["blocks"]
    assert files == before  # the parent artifact is never mutated

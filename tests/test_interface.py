"""The block interface: what an EVOLVE-BLOCK must keep defining, shown and checked."""

from __future__ import annotations

import asyncio
import random

import pytest
from conftest import EXAMPLES

from cambrian._exceptions import EditError
from cambrian.archive import Program
from cambrian.edits import apply_reply, check_interface, describe_interface
from cambrian.models import ScriptedModel
from cambrian.propose import ProposalContext, get_operator
from cambrian.propose._prompt import build_messages
from cambrian.task import load_task

SEED = (EXAMPLES / "circle_packing" / "program.py").read_text()
FILES = {"program.py": SEED}


def _block(body: str) -> str:
    return f"```python\n{body}\n```"


GOOD_BODY = """\
def construct_centers():
    return [(0.1 + 0.8 * (k % 6) / 5, 0.1 + 0.8 * (k // 6) / 4) for k in range(26)]


def fit_radii(centers):
    return [0.01 for _ in centers]
"""


def test_interface_names_what_the_block_owes_and_what_it_may_use() -> None:
    text = describe_interface(SEED)
    assert "`construct_centers()`" in text and "`fit_radii(centers)`" in text
    assert "`math`" in text and "`N_CIRCLES`" in text
    # run_packing is outside the block: it is usable, not owed.
    assert "must still define" in text and "run_packing()" not in text.split("usable")[0]


def test_a_rewrite_that_drops_an_owed_name_is_sent_back() -> None:
    renamed = GOOD_BODY.replace("def construct_centers", "def make_centers")
    child = apply_reply(FILES, _block(renamed), default_path="program.py").files
    with pytest.raises(EditError, match=r"no longer defines construct_centers\(\)"):
        check_interface(FILES, child)
    good = apply_reply(FILES, _block(GOOD_BODY), default_path="program.py").files
    check_interface(FILES, good)  # keeps both names: accepted


def test_a_rewrite_that_does_not_parse_is_sent_back_before_evaluation() -> None:
    child = apply_reply(
        FILES, _block("def construct_centers(:\n    pass"), default_path="program.py"
    ).files
    with pytest.raises(EditError, match="not valid Python"):
        check_interface(FILES, child)


def test_non_python_and_unparsable_parents_are_left_to_the_evaluator() -> None:
    js = {"main.js": "// EVOLVE-BLOCK-START\nfunction f() {}\n// EVOLVE-BLOCK-END\nf();\n"}
    check_interface(js, {"main.js": js["main.js"].replace("f() {}", "g() {}")})
    assert describe_interface("# EVOLVE-BLOCK-START\nx = (\n# EVOLVE-BLOCK-END\n") == ""


def test_a_whole_file_reply_that_echoes_unchanged_context_applies_as_a_block_rewrite() -> None:
    # A small model's habit: it repeats an import and the markers around its new block.
    reply = _block(f"import math\n\n# EVOLVE-BLOCK-START\n{GOOD_BODY}# EVOLVE-BLOCK-END\n")
    applied = apply_reply(FILES, reply, default_path="program.py")
    new = applied.files["program.py"]
    assert "def construct_centers():\n    return [(0.1" in new
    assert new.split("# EVOLVE-BLOCK-END")[1] == SEED.split("# EVOLVE-BLOCK-END")[1]
    assert new.split("# EVOLVE-BLOCK-START")[0] == SEED.split("# EVOLVE-BLOCK-START")[0]


def test_a_whole_file_reply_that_adds_code_outside_the_block_is_still_rejected() -> None:
    reply = _block(
        f"import math\nimport os\n\n# EVOLVE-BLOCK-START\n{GOOD_BODY}# EVOLVE-BLOCK-END\n"
    )
    with pytest.raises(EditError) as err:
        apply_reply(FILES, reply, default_path="program.py")
    assert err.value.kind == "scope_violation" and "import os" in str(err.value)


def _parent() -> Program:
    return Program(id=1, files=FILES, score=0.9, correct=True)


def test_block_view_shows_only_the_block_and_the_interface() -> None:
    task = load_task(EXAMPLES / "circle_packing")
    block = build_messages("rewrite", task, _parent(), [], "program.py", view="block")
    whole = build_messages("rewrite", task, _parent(), [], "program.py", view="file")
    assert "def run_packing" not in block[1].content and "def run_packing" in whole[1].content
    assert "def fit_radii(centers):" in block[1].content
    for messages in (block, whole):
        assert "must still define them: `construct_centers()`, `fit_radii(centers)`" in (
            messages[1].content
        )


def test_the_rewrite_operator_reflects_a_broken_interface_and_accepts_the_repair() -> None:
    renamed = GOOD_BODY.replace("def fit_radii", "def radii_for")
    model = ScriptedModel([_block(renamed), _block(GOOD_BODY)])
    ctx = ProposalContext(
        task=load_task(EXAMPLES / "circle_packing"),
        parent=_parent(),
        inspirations=[],
        rng=random.Random(0),
        model=model,
        settings=type("S", (), {"reflections": 1})(),
        is_duplicate=lambda files: None,
    )
    proposal = asyncio.run(get_operator("rewrite").fn(ctx))
    assert proposal.failure is None and proposal.reflections == 1
    assert "def fit_radii(centers)" in proposal.files["program.py"]
    # The second request carried the model-facing error.
    assert "no longer defines fit_radii(centers)" in model.calls[1][-1].content

"""Reading analyzer replies: lenient about layout, strict about what counts as a lesson."""

from __future__ import annotations

from cambrian.memory._distill import parse_notes, restates_example


def test_a_well_formed_reply() -> None:
    notes = parse_notes(
        "GUIDING: Raising the sine amplitude towards 1.7 lowered the error. [4, 7]\n"
        "CAUTIONARY: Dropping the quadratic term made the fit worse. [5]\n"
        "SKILL: tune-one-constant | when one term dominates the error\n"
        "Change one constant by 10% and keep the change if the score rises.\n"
        "END SKILL [4, 7]\n"
        "RECOMMENDATIONS:\n"
        "- Try a frequency near 2.3. [7]\n"
        "- Keep the intercept negative.\n"
    )
    assert notes.insights == [
        ("guiding", "Raising the sine amplitude towards 1.7 lowered the error.", (4, 7)),
        ("cautionary", "Dropping the quadratic term made the fit worse.", (5,)),
    ]
    (skill,) = notes.skills
    assert skill[0] == "tune-one-constant" and skill[3] == (4, 7)
    assert skill[2].startswith("Change one constant")
    # Program ids mean nothing to the next run: they are cut from recommendations.
    assert notes.recommendations == ["Try a frequency near 2.3.", "Keep the intercept negative."]


def test_small_model_layout_drift_is_tolerated() -> None:
    notes = parse_notes(
        "Here are my lessons:\n\n"
        "**GUIDING:** Spacing the rings further apart gave larger radii. [#12]\n"
        "```\n"
        "  cautionary : Changing the wall margin broke validity [3,  9].\n"
        "```\n"
        "Some chatter that is not a lesson.\n"
        "GUIDING: short [1]\n"
    )
    assert [(p, ids) for p, _, ids in notes.insights] == [
        ("guiding", (12,)),
        ("cautionary", (3, 9)),
    ]
    assert notes.recommendations == [] and notes.skills == []


def test_the_prompts_own_examples_are_recognised() -> None:
    assert restates_example("Deleting a helper that the entry point calls makes every run crash.")
    assert restates_example("Spread the centres evenly over the square before fitting radii.")
    assert not restates_example("Raising the sine amplitude towards 1.7 lowered the error.")


def test_a_recommendation_on_the_header_line_counts() -> None:
    notes = parse_notes("RECOMMENDATIONS: Keep the rings. [11, 17]\n- Try 9 circles inside.\n")
    assert notes.recommendations == ["Keep the rings.", "Try 9 circles inside."]

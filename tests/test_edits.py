"""Unit behaviour of the edit layer: markers, reply parsing, the matching ladder, scope."""

from __future__ import annotations

import pytest

import cambrian.edits as edits
from cambrian._exceptions import ApplyError, ParseError, TaskError
from cambrian.edits import (
    FullRewrite,
    SearchReplace,
    apply_reply,
    check_markers,
    evolvable_paths,
    evolve_regions,
    parse_reply,
)
from cambrian.edits._parse import Mode

PROG = """import math

# EVOLVE-BLOCK-START
def f(x):
    y = x + 1
    return y
# EVOLVE-BLOCK-END


def main():
    return f(1)
"""


def block(search: str, replace: str, path: str = "", marks: int = 7) -> str:
    head = f"{path}\n" if path else ""
    return f"{head}{'<' * marks} SEARCH\n{search}{'=' * marks}\n{replace}{'>' * marks} REPLACE\n"


def apply(
    reply: str, files: dict[str, str] | None = None, mode: Mode = "auto"
) -> edits.AppliedEdit:
    return apply_reply(files or {"main.py": PROG}, reply, default_path="main.py", mode=mode)


# --- public surface -----------------------------------------------------------------


def test_exported_members() -> None:
    assert edits.__all__ == sorted(edits.__all__)
    assert set(edits.__all__) == {
        "AppliedEdit",
        "FullRewrite",
        "check_interface",
        "describe_interface",
        "Fuzz",
        "ParsedReply",
        "SearchReplace",
        "apply_reply",
        "check_markers",
        "evolvable_paths",
        "evolve_regions",
        "parse_reply",
    }


# --- markers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END"),
        ("// EVOLVE-BLOCK-START", "// EVOLVE-BLOCK-END"),
        ("-- EVOLVE-BLOCK-START", "-- EVOLVE-BLOCK-END"),
        ("/* EVOLVE-BLOCK-START */", "/* EVOLVE-BLOCK-END */"),
        ("<!-- EVOLVE-BLOCK-START -->", "<!-- EVOLVE-BLOCK-END -->"),
        ("    #EVOLVE-BLOCK-START: evolve this", "    #EVOLVE-BLOCK-END"),
    ],
)
def test_regions_any_comment_syntax(start: str, end: str) -> None:
    text = f"a\n{start}\nb\nc\n{end}\nd\n"
    assert evolve_regions(text) == [(2, 4)]


def test_several_and_empty_regions() -> None:
    text = (
        "# EVOLVE-BLOCK-START\nx\n# EVOLVE-BLOCK-END\ny\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n"
    )
    assert evolve_regions(text) == [(1, 2), (5, 5)]


def test_marker_in_string_is_not_a_marker() -> None:
    assert evolve_regions('PROMPT = "keep EVOLVE-BLOCK-START here"\n') == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("x\n# EVOLVE-BLOCK-END\n", "line 2"),
        ("# EVOLVE-BLOCK-START\nx\n", "line 1"),
        ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n", "line 2"),
    ],
)
def test_check_markers_names_path_and_line(text: str, line: str) -> None:
    with pytest.raises(TaskError) as info:
        check_markers(text, "src/prog.py")
    assert "'src/prog.py'" in str(info.value)
    assert line in str(info.value)


def test_check_markers_accepts_balanced() -> None:
    check_markers(PROG, "main.py")


def test_evolvable_paths_sorted() -> None:
    files = {"z.py": PROG, "a.py": PROG, "cfg.py": "X = 1\n"}
    assert evolvable_paths(files) == ["a.py", "z.py"]


# --- parsing ------------------------------------------------------------------------


@pytest.mark.parametrize("marks", [5, 6, 8, 9])
def test_parse_marker_length_drift(marks: int) -> None:
    parsed = parse_reply(block("a\n", "b\n", marks=marks), default_path="m.py")
    assert parsed.format == "diff"
    assert parsed.blocks == (SearchReplace("m.py", "a\n", "b\n", 1, False),)


def test_ten_marker_chars_are_not_a_block() -> None:
    with pytest.raises(ParseError):
        parse_reply(block("a\n", "b\n", marks=10), default_path="m.py", mode="diff")


@pytest.mark.parametrize(
    "filename_line",
    ["lib/util.py", "`lib/util.py`", "**lib/util.py**", "File: lib/util.py", "### `lib/util.py`"],
)
def test_parse_filename_line_forms(filename_line: str) -> None:
    reply = f"Some prose.\n\n{filename_line}\n```python\n" + block("a\n", "b\n") + "```\n"
    (b,) = parse_reply(reply, default_path="main.py").blocks
    assert (b.path, b.path_given) == ("lib/util.py", True)


def test_parse_filename_inside_fence_and_default() -> None:
    reply = "```\nlib/util.py\n" + block("a\n", "b\n") + "```\n\n" + block("c\n", "d\n")
    first, second = parse_reply(reply, default_path="main.py").blocks
    assert first.path == "lib/util.py"
    assert (second.path, second.path_given) == ("main.py", False)


def test_prose_mention_counts_only_for_known_paths() -> None:
    reply = "Here is the change to `util.py`:\n\n" + block("a\n", "b\n")
    assert parse_reply(reply, default_path="main.py").blocks[0].path == "main.py"
    named = parse_reply(reply, default_path="main.py", paths=["main.py", "util.py"])
    assert named.blocks[0].path == "util.py"


def test_consecutive_blocks_keep_the_file() -> None:
    reply = "util.py\n" + block("a\n", "b\n") + "\n" + block("c\n", "d\n")
    assert [b.path for b in parse_reply(reply, default_path="main.py").blocks] == [
        "util.py",
        "util.py",
    ]


def test_parse_crlf_and_think() -> None:
    reply = "<think>\n" + block("draft\n", "x\n") + "</think>\n" + block("a\n", "b\n")
    (b,) = parse_reply(reply.replace("\n", "\r\n"), default_path="m.py").blocks
    assert (b.search, b.replace) == ("a\n", "b\n")


def test_parse_think_without_opening_tag() -> None:
    reply = "reasoning...\n" + block("draft\n", "x\n") + "</think>\n" + block("a\n", "b\n")
    assert len(parse_reply(reply, default_path="m.py").blocks) == 1


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        ("<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n", "no `=======`"),
        ("<<<<<<< SEARCH\na\n=======\nb\n", "cut off"),
        ("```python\nx = 1\n", "never closed"),
        ("   \n", "empty"),
    ],
)
def test_parse_errors_are_for_the_model(reply: str, needle: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_reply(reply, default_path="m.py")
    assert needle in str(info.value)
    assert "<<<<<<< SEARCH" in str(info.value)  # the expected format is shown
    assert info.value.kind == "parse_error"


def test_rewrite_picks_marked_block_then_longest() -> None:
    reply = "```bash\npython main.py --with-many-args --and-more\n```\n```python\nx = 1\n```\n"
    (rw,) = parse_reply(reply, default_path="m.py").rewrites
    assert rw.code == "python main.py --with-many-args --and-more\n"
    marked = "```python\n# EVOLVE-BLOCK-START\nx\n# EVOLVE-BLOCK-END\n```\n" + reply
    (rw,) = parse_reply(marked, default_path="m.py").rewrites
    assert rw.code.startswith("# EVOLVE-BLOCK-START")


def test_rewrite_with_filename() -> None:
    reply = "lib/a.py\n```python\nx = 2\n```\n"
    assert parse_reply(reply, default_path="m.py").rewrites == (
        FullRewrite("lib/a.py", "x = 2\n", "python", True),
    )


def test_diff_mode_refuses_fences() -> None:
    with pytest.raises(ParseError):
        parse_reply("```python\nx = 1\n```\n", default_path="m.py", mode="diff")


# --- applying: the ladder -----------------------------------------------------------


def test_exact_apply_and_untouched_files_copied() -> None:
    files = {"main.py": PROG, "other.txt": "keep\n"}
    out = apply(block("    y = x + 1\n", "    y = x + 2\n"), files)
    assert out.files["main.py"] == PROG.replace("x + 1", "x + 2")
    assert out.files["other.txt"] == "keep\n"
    assert out.files is not files
    assert files == {"main.py": PROG, "other.txt": "keep\n"}
    assert (out.format, out.blocks, out.fuzz, out.changed) == ("diff", 1, ["exact"], ["main.py"])


def test_whitespace_rung() -> None:
    out = apply(block("    y = x + 1   \n", "    y = x * 2\n"))
    assert out.fuzz == ["whitespace"]
    assert "    y = x * 2\n" in out.files["main.py"]


def test_indent_rung_search_more_indented_than_file() -> None:
    out = apply(
        block("        y = x + 1\n        return y\n", "        y = x - 1\n        return y\n")
    )
    assert out.fuzz == ["indent"]
    assert "    y = x - 1\n    return y\n" in out.files["main.py"]


def test_indent_rung_reindents_nested_replace() -> None:
    out = apply(block("y = x + 1\nreturn y\n", "if x:\n    y = 0\nreturn y\n"))
    assert out.fuzz == ["indent"]
    assert "    if x:\n        y = 0\n    return y\n" in out.files["main.py"]


def test_blank_line_rung_trims_both_sides() -> None:
    out = apply(block("\n    y = x + 1\n\n", "\n    y = x + 3\n\n"))
    assert out.fuzz == ["blank_line"]
    assert out.files["main.py"] == PROG.replace("x + 1", "x + 3")


def test_no_edit_distance_matching() -> None:
    with pytest.raises(ApplyError) as info:
        apply(block("    y = x + 11\n", "    y = 0\n"))
    assert info.value.kind == "edit_error"
    assert "y = x + 1" in str(info.value)  # closest real line, as a hint only


def test_blocks_apply_sequentially() -> None:
    reply = block("    y = x + 1\n", "    y = x + 5\n") + block("    y = x + 5\n", "    y = 7\n")
    assert "    y = 7\n" in apply(reply).files["main.py"]


def test_replace_can_delete_lines() -> None:
    out = apply(block("    y = x + 1\n    return y\n", "    return x\n"))
    assert "def f(x):\n    return x\n# EVOLVE-BLOCK-END" in out.files["main.py"]


def test_file_without_final_newline_keeps_that() -> None:
    text = PROG.rstrip("\n").replace(
        "    return f(1)", "# EVOLVE-BLOCK-START\nz = 1\n# EVOLVE-BLOCK-END"
    )
    out = apply(block("z = 1\n", "z = 2\n"), {"main.py": text})
    assert out.files["main.py"] == text.replace("z = 1", "z = 2")
    assert not out.files["main.py"].endswith("\n")


# --- applying: all or nothing, scope, errors ----------------------------------------


def test_all_or_nothing_and_input_not_mutated() -> None:
    files = {"main.py": PROG}
    reply = block("    y = x + 1\n", "    y = 0\n") + "\n\n" + block("nope\n", "x\n")
    with pytest.raises(ApplyError) as info:
        apply(reply, files)
    assert files == {"main.py": PROG}
    assert "block 2" in str(info.value)
    assert "Block 1 matched" in str(info.value)


def test_in_region_match_wins_over_outside_copy() -> None:
    text = "y = x + 1\n# EVOLVE-BLOCK-START\ny = x + 1\n# EVOLVE-BLOCK-END\n"
    out = apply(block("y = x + 1\n", "y = 0\n"), {"main.py": text})
    assert out.files["main.py"] == "y = x + 1\n# EVOLVE-BLOCK-START\ny = 0\n# EVOLVE-BLOCK-END\n"


def test_search_straddling_a_marker_is_scope_violation() -> None:
    with pytest.raises(ApplyError) as info:
        apply(block("    return y\n# EVOLVE-BLOCK-END\n", "    return y\n"))
    assert info.value.kind == "scope_violation"


def test_search_outside_region_names_editable_lines() -> None:
    with pytest.raises(ApplyError) as info:
        apply(block("    return f(1)\n", "    return f(2)\n"))
    assert info.value.kind == "scope_violation"
    assert "lines 4-6" in str(info.value)


def test_marker_text_in_replace_rejected_even_uncommented() -> None:
    with pytest.raises(ApplyError) as info:
        apply(block("    y = x + 1\n", '    y = "EVOLVE-BLOCK-END"\n'))
    assert info.value.kind == "scope_violation"


def test_scope_kind_wins_over_edit_error() -> None:
    reply = block("missing\n", "x\n") + "\n\n" + block("    return f(1)\n", "    return 0\n")
    with pytest.raises(ApplyError) as info:
        apply(reply)
    assert info.value.kind == "scope_violation"


def test_noop_diff_is_no_change() -> None:
    with pytest.raises(ApplyError, match="no change"):
        apply(block("    y = x + 1\n", "    y = x + 1\n"))


def test_path_resolution() -> None:
    files = {"src/main.py": PROG}
    out = apply_reply(files, block("    y = x + 1\n", "    y = 1\n", "./main.py"), default_path="x")
    assert "    y = 1\n" in out.files["src/main.py"]


def test_broken_markers_in_parent_are_a_task_error() -> None:
    with pytest.raises(TaskError):
        apply(block("x\n", "y\n"), {"main.py": "# EVOLVE-BLOCK-START\nx\n"})


def test_many_failures_message_is_bounded() -> None:
    reply = "\n\n".join(block(f"missing line {i} " * 20 + "\n", "x\n") for i in range(40))
    with pytest.raises(ApplyError) as info:
        apply(reply)
    assert len(str(info.value)) <= 2000
    assert "more failed block" in str(info.value)


# --- rewrites -----------------------------------------------------------------------


def test_whole_file_rewrite_keeps_outside_bytes() -> None:
    crlf = PROG.replace("\n", "\r\n")
    code = PROG.replace("x + 1", "x + 9").replace("import math", "import math   ")
    out = apply(f"```python\n{code}```\n", {"main.py": crlf}, mode="rewrite")
    assert out.files["main.py"] == crlf.replace("x + 1", "x + 9")
    assert (out.format, out.fuzz) == ("rewrite", [])


def test_whole_file_rewrite_cannot_drop_a_block() -> None:
    code = PROG.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    code += "# EVOLVE-BLOCK-START\n"
    with pytest.raises(ApplyError) as info:
        apply(f"```python\n{code}```\n")
    assert info.value.kind == "scope_violation"


def test_rewrite_with_extra_block_is_scope_violation() -> None:
    code = PROG + "# EVOLVE-BLOCK-START\nz = 1\n# EVOLVE-BLOCK-END\n"
    with pytest.raises(ApplyError, match="has 2 EVOLVE-BLOCK") as info:
        apply(f"```python\n{code}```\n")
    assert info.value.kind == "scope_violation"


def test_rewrite_of_file_without_markers() -> None:
    with pytest.raises(ApplyError) as info:
        apply_reply({"a.py": "x = 1\n"}, "```python\nx = 2\n```\n", default_path="a.py")
    assert info.value.kind == "scope_violation"


def test_body_rewrite_input_not_mutated() -> None:
    files = {"main.py": PROG}
    out = apply("```python\ndef f(x):\n    return 2 * x\n```\n", files)
    assert files == {"main.py": PROG}
    assert out.files["main.py"] == PROG.replace(
        "    y = x + 1\n    return y\n", "    return 2 * x\n"
    )


def test_in_region_fuzzy_match_wins_over_exact_outside_copy() -> None:
    text = "y = 1\n# EVOLVE-BLOCK-START\ny = 1  \n# EVOLVE-BLOCK-END\n"
    out = apply(block("y = 1\n", "y = 2\n"), {"main.py": text})
    assert out.files["main.py"] == "y = 1\n# EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n"
    assert out.fuzz == ["whitespace"]


def test_body_rewrite_is_indented_like_its_marker() -> None:
    text = "class A:\n    def f(self):\n        # EVOLVE-BLOCK-START\n        return 1\n        # EVOLVE-BLOCK-END\n"
    out = apply("```python\nif self:\n    return 2\nreturn 3\n```\n", {"main.py": text})
    assert out.files["main.py"] == text.replace(
        "        return 1\n", "        if self:\n            return 2\n        return 3\n"
    )
    already = apply("```python\n        return 4\n```\n", {"main.py": text})
    assert already.files["main.py"] == text.replace("return 1", "return 4")


def test_unified_diff_fence_is_not_a_rewrite() -> None:
    reply = "```diff\n--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-x\n+y\n```\n"
    with pytest.raises(ParseError, match="SEARCH/REPLACE"):
        parse_reply(reply, default_path="main.py")


def test_rewrite_with_bare_marker_lines_replaces_the_block_body() -> None:
    from cambrian.edits import apply_reply

    files = {"p.py": "import math\n# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\nprint(X)\n"}
    reply = "Here:\n```python\nEVOLVE-BLOCK-START\nX = 2\nY = 3\nEVOLVE-BLOCK-END\n```\n"
    applied = apply_reply(files, reply, default_path="p.py")
    assert applied.files["p.py"] == (
        "import math\n# EVOLVE-BLOCK-START\nX = 2\nY = 3\n# EVOLVE-BLOCK-END\nprint(X)\n"
    )
    # Code outside the bare markers still makes it a whole-file rewrite, judged as such.
    outside = "```python\nimport os\nEVOLVE-BLOCK-START\nX = 2\nEVOLVE-BLOCK-END\n```\n"
    with pytest.raises(ApplyError):
        apply_reply(files, outside, default_path="p.py")

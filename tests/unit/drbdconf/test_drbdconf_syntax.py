"""Statements (words, then ';' or a block) and syntax error recovery."""

from __future__ import annotations

from hapair.config.drbd.source import statements_from_text
from hapair.config.drbd.syntax import MAX_DEPTH, Statement


def words(statement: Statement) -> list[str]:
    return [t.text for t in statement.words]


def test_statements_and_blocks() -> None:
    statements, errors = statements_from_text(
        "global { usage-count no; }\nresource r { net { protocol C; } }", "f"
    )
    assert errors == []
    assert [words(s) for s in statements] == [["global"], ["resource", "r"]]
    net = statements[1].block
    assert net is not None and words(net[0]) == ["net"]
    assert net[0].block is not None and words(net[0].block[0]) == ["protocol", "C"]
    assert statements[1].location.line == 2


def test_missing_semicolon_before_brace_is_reported_and_kept() -> None:
    statements, errors = statements_from_text("net {\n protocol C\n}", "f")
    assert [(e.line, e.message) for e in errors] == [(3, "Parse error: ';' expected, but got '}'")]
    block = statements[0].block
    assert block is not None and words(block[0]) == ["protocol", "C"]


def test_missing_close_brace_points_at_the_opener() -> None:
    _, errors = statements_from_text("resource r {\n on a {\n", "f")
    assert sorted(e.line for e in errors) == [1, 2]
    assert all("missing '}'" in e.message for e in errors)


def test_stray_close_brace_and_lonely_semicolon() -> None:
    _, errors = statements_from_text("}\n;\n{ }\n", "f")
    assert [e.line for e in errors] == [1, 2, 3]


def test_words_at_end_of_file_without_semicolon() -> None:
    _, errors = statements_from_text("include x", "f")
    assert len(errors) == 1 and "end of file" in errors[0].message


def test_skip_hides_its_content_and_its_errors() -> None:
    statements, errors = statements_from_text('skip { = , "unterminated\n } x;', "f")
    assert errors == []
    assert statements[0].block == () and words(statements[1]) == ["x"]


def test_nesting_is_bounded() -> None:
    text = "a {" * (MAX_DEPTH + 5) + "}" * (MAX_DEPTH + 5)
    _, errors = statements_from_text(text, "f")
    assert any("nested" in e.message for e in errors)


def test_lexical_errors_surface_as_statement_errors() -> None:
    _, errors = statements_from_text("net { protocol = C; }", "f")
    assert [e.message for e in errors] == ["unexpected character '='"]

"""Character-level rules: comments, quotes, escapes, braces (keepalived lib/parser.c)."""

from __future__ import annotations

import pytest

from hapair.config.keepalived.words import (
    decomment,
    find_unquoted_brace,
    split_first_piece,
    split_quoted_escaped,
    split_words,
)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("  priority 100   # comment", "priority 100"),
        ("priority 100! bang comment", "priority 100"),
        ("virtual_router_id 5#no space", "virtual_router_id 5"),
        ("# only a comment", ""),
        ("\t\t\t\t", ""),
        ('notify "/x.sh #not a comment" # but this is', 'notify "/x.sh #not a comment"'),
        ("router_id a\\#b", "router_id a#b"),
        ("router_id a\\!b ! c", "router_id a!b"),
        ("10.0.0.1 # 한국어 주석\t\t", "10.0.0.1"),
    ],
)
def test_decomment_strips_comments_outside_double_quotes(raw: str, text: str) -> None:
    clean = decomment(raw)
    assert clean.text == text
    assert clean.problem is None
    assert not clean.continued


def test_decomment_keeps_a_trailing_backslash_as_continuation() -> None:
    clean = decomment("$DEF=abc \\")
    assert clean.continued
    assert clean.text == "$DEF=abc\\"  # blanks before the backslash go too


def test_decomment_reports_an_unterminated_quote_in_keepalived_words() -> None:
    clean = decomment('  priority "10')
    assert clean.problem == "Unterminated quote 'priority \"10'"
    assert clean.text == 'priority "10'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("vrrp_instance VI_1", ["vrrp_instance", "VI_1"]),
        ('notify "/bin/x.sh a b"  root', ["notify", "/bin/x.sh a b", "root"]),
        ("a\tb\fc", ["a", "b", "c"]),
        ('abc"def"', ["abc", "def"]),
        ("'a b'", ["'a", "b'"]),  # single quotes mean nothing to keywords
        ('""', [""]),
    ],
)
def test_split_words_like_alloc_strvec(text: str, words: list[str]) -> None:
    assert split_words(text) == (words, None)


def test_split_words_reports_an_unmatched_quote_and_keeps_the_words_before_it() -> None:
    assert split_words('priority "10') == (["priority"], "Unmatched quote: 'priority \"10'")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("notify_master \"/path/nm.sh arg1 'two words'\"", ["notify_master", "/path/nm.sh arg1 'two words'"]),
        ("/path/nm.sh arg1 'two words'", ["/path/nm.sh", "arg1", "two words"]),
        ('ab"c d"e', ["abc de"]),
        ("a\\ b", ["a b"]),
        ('d\\"e\\" \\x41', ['d"e"', "A"]),
        ("\\101\\t\\n\\cA", ["A\t\n\x01"]),
        ("'\\''", ["'"]),
    ],
)
def test_split_quoted_escaped_like_a_shell(text: str, words: list[str]) -> None:
    assert split_quoted_escaped(text) == (words, None)


def test_split_quoted_escaped_refuses_unterminated_quotes_and_trailing_backslashes() -> None:
    assert split_quoted_escaped("a 'b") == (None, "String 'a 'b': missing terminating '")
    assert split_quoted_escaped("a b\\") == (None, "Missing escape char at end: 'a b\\'")


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("vrrp_instance VI_1 {", ["vrrp_instance VI_1", "{"]),
        ("{ interface vA", ["{", "interface vA"]),
        ("virtual_ipaddress { 10.0.0.1 }", ["virtual_ipaddress", "{", "10.0.0.1", "}"]),
        ("}}", ["}", "}"]),
        ('notify "/x.sh {a}" {', ['notify "/x.sh {a}"', "{"]),
        ("'{'", ["'", "{", "'"]),  # only double quotes protect braces
    ],
)
def test_lines_are_cut_at_unquoted_braces(text: str, pieces: list[str]) -> None:
    out = []
    rest = text
    while rest:
        piece, rest = split_first_piece(rest)
        out.append(piece)
    assert out == pieces


def test_an_unmatched_double_quote_hides_the_braces_after_it() -> None:
    assert find_unquoted_brace('a "b { c') is None
    assert find_unquoted_brace('a "b" { c') == 6

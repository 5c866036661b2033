"""Tokens of drbd.conf: kinds, values, lines, and the errors the scanner reports."""

from __future__ import annotations

from hapair.config.drbd.lexer import MAX_QUOTED, MAX_WORD, Token, TokenKind, tokenize


def kinds(text: str) -> list[tuple[TokenKind, str, int]]:
    return [(t.kind, t.text, t.line) for t in tokenize(text, "f.conf")]


def test_words_punctuation_and_lines() -> None:
    assert kinds("resource r0 {\n  protocol C;\n}\n") == [
        (TokenKind.WORD, "resource", 1),
        (TokenKind.WORD, "r0", 1),
        (TokenKind.LBRACE, "{", 1),
        (TokenKind.WORD, "protocol", 2),
        (TokenKind.WORD, "C", 2),
        (TokenKind.SEMI, ";", 2),
        (TokenKind.RBRACE, "}", 3),
    ]


def test_address_lexes_as_word_colon_word() -> None:
    assert kinds("address 10.1.1.31:7789;") == [
        (TokenKind.WORD, "address", 1),
        (TokenKind.WORD, "10.1.1.31", 1),
        (TokenKind.COLON, ":", 1),
        (TokenKind.WORD, "7789", 1),
        (TokenKind.SEMI, ";", 1),
    ]


def test_brackets_hold_an_ipv6_address_or_an_index() -> None:
    assert kinds("ipv6 [fd00::1%eth0]:7789 /dev/sdc [ 0 ]") == [
        (TokenKind.WORD, "ipv6", 1),
        (TokenKind.BRACKETED, "fd00::1%eth0", 1),
        (TokenKind.COLON, ":", 1),
        (TokenKind.WORD, "7789", 1),
        (TokenKind.WORD, "/dev/sdc", 1),
        (TokenKind.BRACKETED, "0", 1),
    ]


def test_comments_end_at_the_line_and_may_hold_korean() -> None:
    text = "on NODE1 {  #NODE1은 uname -a에서 확인되는 hostname이어야하며\n device /dev/drbd0; # x\n"
    assert [t.text for t in tokenize(text, "r0.res")] == ["on", "NODE1", "{", "device", "/dev/drbd0", ";"]
    assert tokenize(text, "r0.res")[3].line == 2


def test_a_hash_ends_a_word_and_starts_a_comment() -> None:
    assert [t.text for t in tokenize("abc#def ghi\nx", "f")] == ["abc", "x"]


def test_quoted_strings_drop_quotes_and_escapes() -> None:
    tokens = tokenize(r'"a b \"c\" \\ d" "#not a comment"', "f")
    assert [(t.kind, t.text) for t in tokens] == [
        (TokenKind.QUOTED, 'a b "c" \\ d'),
        (TokenKind.QUOTED, "#not a comment"),
    ]


def test_unterminated_string_is_an_error_at_its_line() -> None:
    tokens = tokenize('x;\n"abc\n"', "f")
    errors = [t for t in tokens if t.kind is TokenKind.ERROR]
    assert errors and errors[0].line == 2 and "unterminated" in errors[0].text


def test_length_limits_match_drbdadm() -> None:
    assert tokenize("a" * MAX_WORD, "f")[0].kind is TokenKind.WORD
    assert tokenize("a" * (MAX_WORD + 1), "f")[0].kind is TokenKind.ERROR
    assert tokenize('"' + "a" * MAX_QUOTED + '"', "f")[0].kind is TokenKind.QUOTED
    assert tokenize('"' + "a" * (MAX_QUOTED + 1) + '"', "f")[0].kind is TokenKind.ERROR


def test_unexpected_characters_become_errors_and_lexing_goes_on() -> None:
    tokens = tokenize("a = b, ]\nc", "f")
    assert [t.kind for t in tokens] == [
        TokenKind.WORD,
        TokenKind.ERROR,
        TokenKind.WORD,
        TokenKind.ERROR,
        TokenKind.ERROR,
        TokenKind.WORD,
    ]
    assert tokens[-1].line == 2


def test_bracket_without_close_on_the_line_is_an_error() -> None:
    tokens = tokenize("[abc\n]", "f")
    assert tokens[0].kind is TokenKind.ERROR


def test_token_shows_at_most_20_characters() -> None:
    token = Token(TokenKind.WORD, "x" * 30, "f", 1)
    assert token.shown() == "'" + "x" * 20 + "...'"
    assert Token(TokenKind.SEMI, ";", "f", 1).shown() == "';'"

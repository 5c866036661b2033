"""The shape every drbd.conf statement shares: words, then either ``;`` or a ``{ block }``.

drbd.conf is regular at this level: ``protocol C;``, ``address ipv4 10.1.1.31:7789;``,
``on alice bob { ... }``, ``floating 10.1.1.1:7789 { ... }``, ``skip resource r { ... }`` and
``include "drbd.d/*.res";`` are all "some words, then a terminator or a block". Parsing that shape
first, with error recovery, lets the interpreter collect every mistake in a file instead of stopping
at the first (drbdadm stops at the first parse error). The meaning of the words is decided later.

A statement whose first word is ``skip`` keeps no children and reports no errors from inside its
block, as drbdadm's ``parse_skip`` only counts braces there.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.errors import ConfigError, SourceLocation

from .lexer import Token, TokenKind

MAX_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Statement:
    """``words... ;`` (block is None) or ``words... { children }``."""

    words: tuple[Token, ...]
    block: tuple[Statement, ...] | None
    location: SourceLocation

    @property
    def keyword(self) -> str:
        """The first word's text ('' when the statement starts with punctuation)."""
        first = self.words[0]
        return first.text if first.kind is TokenKind.WORD else ""

    @property
    def args(self) -> tuple[Token, ...]:
        return self.words[1:]


class _Parser:
    def __init__(self, tokens: list[Token], file: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.file = file
        self.errors: list[ConfigError] = []

    def error(self, token: Token, message: str) -> None:
        self.errors.append(ConfigError(token.file, token.line, message))

    def parse_block(self, depth: int, opener: Token | None, skipping: bool) -> list[Statement]:
        """Statements up to the matching '}' (consumed) or, at top level, to the end."""
        out: list[Statement] = []
        words: list[Token] = []
        while self.pos < len(self.tokens):
            tok = self.tokens[self.pos]
            self.pos += 1
            kind = tok.kind
            if kind is TokenKind.ERROR:
                if not skipping:
                    self.error(tok, tok.text)
            elif kind is TokenKind.SEMI:
                if words:
                    out.append(Statement(tuple(words), None, words[0].location))
                    words = []
                elif not skipping:
                    self.error(tok, "Parse error: unexpected ';' (a statement starts with a keyword)")
            elif kind is TokenKind.LBRACE:
                skip_inner = skipping or (bool(words) and words[0].text == "skip")
                if not words and not skipping:
                    self.error(tok, "Parse error: '{' without a section keyword before it")
                if depth + 1 > MAX_DEPTH:
                    if not skipping:
                        self.error(tok, f"sections nested more than {MAX_DEPTH} deep")
                    self._skip_to_close()
                    children: list[Statement] = []
                else:
                    children = self.parse_block(depth + 1, tok, skip_inner)
                if words:
                    kept = () if skip_inner else tuple(children)
                    out.append(Statement(tuple(words), kept, words[0].location))
                words = []
            elif kind is TokenKind.RBRACE:
                if opener is None:
                    if not skipping:
                        self.error(tok, "Parse error: '}' without a matching '{'")
                    continue
                if words and not skipping:
                    self.error(tok, "Parse error: ';' expected, but got '}'")
                if words:
                    out.append(Statement(tuple(words), None, words[0].location))
                return out
            else:
                words.append(tok)
        if opener is not None and not skipping:
            self.error(opener, "Parse error: missing '}' for the '{' opened here (reached end of file)")
        if words and not skipping:
            self.error(
                words[-1], f"Parse error: ';' expected after {words[-1].shown()}, but reached end of file"
            )
        return out

    def _skip_to_close(self) -> None:
        level = 1
        while self.pos < len(self.tokens) and level:
            kind = self.tokens[self.pos].kind
            level += 1 if kind is TokenKind.LBRACE else -1 if kind is TokenKind.RBRACE else 0
            self.pos += 1


def parse_statements(tokens: list[Token], file: str) -> tuple[list[Statement], list[ConfigError]]:
    """Group tokens into statements. Returns the statements and every syntax error found."""
    parser = _Parser(tokens, file)
    statements = parser.parse_block(0, None, False)
    return statements, parser.errors

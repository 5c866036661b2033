"""Tokens of the drbd.conf language, each carrying the file and line it came from.

The token classes follow drbdadm's flex scanner (drbd-utils `user/v9/drbdadm_scanner.fl`):

- a *word* is 1..128 characters of ``[A-Za-z0-9/._-]`` (keywords, names, numbers with a unit
  suffix, paths, IPv4 addresses all lex as words; the parser decides what they mean);
- a *quoted string* is ``"..."`` on one line, at most 255 characters, where a backslash makes the
  next character literal (``\\"`` and ``\\\\``); the value is the text without quotes and escapes;
- ``{ } ; :`` are punctuation; ``[ ... ]`` is lexed as one *bracketed* token holding the text
  between the brackets (an IPv6 address in ``address ipv6 [fd00::1]:7789`` or a meta-data index in
  ``meta-disk /dev/sdc [0]``);
- ``#`` starts a comment to the end of the line (comments may hold any text, the runbook's are
  Korean); spaces, tabs, carriage returns and newlines separate tokens.

Anything else is not silently skipped: it becomes an ``ERROR`` token with a message, so the parser
reports it at its line (and ignores it inside ``skip`` blocks, as drbdadm does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hapair.errors import SourceLocation

MAX_WORD = 128
MAX_QUOTED = 255

_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-")
_SPACE = frozenset(" \t\r\n\f\v")


class TokenKind(enum.Enum):
    WORD = "word"
    QUOTED = "quoted string"
    BRACKETED = "bracketed text"
    LBRACE = "'{'"
    RBRACE = "'}'"
    SEMI = "';'"
    COLON = "':'"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Token:
    """One token. `text` is the value (quotes and escapes removed); for ERROR, the message."""

    kind: TokenKind
    text: str
    file: str
    line: int

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.file, self.line)

    @property
    def is_value(self) -> bool:
        """Words and quoted strings: what can name a thing or be an option's value."""
        return self.kind in (TokenKind.WORD, TokenKind.QUOTED)

    def shown(self) -> str:
        """How an error message quotes this token (drbdadm shows at most 20 characters)."""
        if self.kind in (TokenKind.WORD, TokenKind.QUOTED):
            text = self.text if len(self.text) <= 20 else self.text[:20] + "..."
            return f"'{text}'"
        if self.kind is TokenKind.BRACKETED:
            return f"'[{self.text}]'"
        return str(self.kind.value)


_PUNCT = {"{": TokenKind.LBRACE, "}": TokenKind.RBRACE, ";": TokenKind.SEMI, ":": TokenKind.COLON}


def tokenize(text: str, file: str) -> list[Token]:
    """Split `text` into tokens. Never raises: problems become ERROR tokens."""
    tokens: list[Token] = []
    pos = 0
    line = 1
    end = len(text)
    while pos < end:
        ch = text[pos]
        if ch == "\n":
            line += 1
            pos += 1
        elif ch in _SPACE:
            pos += 1
        elif ch == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
        elif ch in _PUNCT:
            tokens.append(Token(_PUNCT[ch], ch, file, line))
            pos += 1
        elif ch in _WORD_CHARS:
            start = pos
            while pos < end and text[pos] in _WORD_CHARS:
                pos += 1
            word = text[start:pos]
            if len(word) > MAX_WORD:
                tokens.append(_error(f"token too long ({len(word)} > {MAX_WORD} characters)", file, line))
            else:
                tokens.append(Token(TokenKind.WORD, word, file, line))
        elif ch == '"':
            pos = _quoted(text, pos, file, line, tokens)
        elif ch == "[":
            pos = _bracketed(text, pos, file, line, tokens)
        elif ch == "]":
            tokens.append(_error("']' without '['", file, line))
            pos += 1
        else:
            tokens.append(_error(f"unexpected character {ch!r}", file, line))
            pos += 1
    return tokens


def _error(message: str, file: str, line: int) -> Token:
    return Token(TokenKind.ERROR, message, file, line)


def _quoted(text: str, pos: int, file: str, line: int, out: list[Token]) -> int:
    """Lex a double-quoted string starting at `pos`; return the position after it."""
    value: list[str] = []
    i = pos + 1
    end = len(text)
    while i < end:
        ch = text[i]
        if ch == '"':
            if len(value) > MAX_QUOTED:
                out.append(
                    _error(f"double quoted string too long (more than {MAX_QUOTED} characters)", file, line)
                )
            else:
                out.append(Token(TokenKind.QUOTED, "".join(value), file, line))
            return i + 1
        if ch == "\n":
            break
        if ch == "\\":
            if i + 1 >= end or text[i + 1] == "\n":
                break
            i += 1
            ch = text[i]
        value.append(ch)
        i += 1
    out.append(_error("unterminated double quoted string (newlines are not allowed in strings)", file, line))
    return i


def _bracketed(text: str, pos: int, file: str, line: int, out: list[Token]) -> int:
    """Lex ``[ ... ]`` on one line into a BRACKETED token; return the position after it."""
    close = text.find("]", pos + 1)
    newline = text.find("\n", pos + 1)
    if close < 0 or (0 <= newline < close):
        out.append(_error("'[' without ']' on the same line", file, line))
        return pos + 1
    inner = text[pos + 1 : close].strip(" \t")
    if not inner or any(c in _SPACE or c in '[{};#"' for c in inner):
        out.append(_error(f"malformed bracketed text '[{inner}]'", file, line))
    else:
        out.append(Token(TokenKind.BRACKETED, inner, file, line))
    return close + 1

"""Character-level rules of keepalived's configuration reader (lib/parser.c in 2.2.7).

keepalived reads a line, strips its comment, splits it at unquoted braces so that `{` and `}`
always stand on lines of their own, and splits each piece into words. Two word splitters exist:

* `split_words` is what every keyword sees: words end at whitespace, a word that *starts* with
  `"` runs to the next `"` (the quotes are dropped), single quotes and backslashes are ordinary;
* `split_quoted_escaped` is what script commands see (`script`, `notify*`): both quote kinds,
  quotes anywhere in a word (`ab"c d"e` is one word `abc de`) and shell-like escapes
  (`\\n`, `\\t`, `\\x41`, `\\101`, `\\cC`, `\\"`, ...).

The functions here are pure string transformations; problems are returned as messages (worded as
keepalived words them) for the caller to place.
"""

from __future__ import annotations

from dataclasses import dataclass

WHITE_SPACE = " \t\f\n\r\v"
BLANK = " \t"


@dataclass(frozen=True, slots=True)
class CleanLine:
    """A physical line after comment removal."""

    text: str
    continued: bool  # the line ended with an unescaped backslash (multi-line definitions)
    problem: str | None  # keepalived's message for an unterminated quote


def decomment(raw: str) -> CleanLine:
    """Strip leading blanks, the comment (`#` or `!` outside double quotes) and trailing blanks.

    `\\#` and `\\!` outside quotes stand for a literal `#`/`!`. A backslash ending the line marks
    a continuation (kept as a final backslash, like keepalived). An unterminated double quote is
    reported but the line is kept.
    """
    text = raw.lstrip(BLANK)
    out: list[str] = []
    quote = False
    comment_at: int | None = None
    continued = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 < len(text):
                following = text[i + 1]
                if not quote and following in "#!" and comment_at is None:
                    out.append(following)
                else:
                    out.append(char + following)
                i += 2
                continue
            continued = True
            break
        if char == '"' and comment_at is None:
            quote = not quote
        elif char in "#!" and not quote and comment_at is None:
            comment_at = len(out)
        out.append(char)
        i += 1
    problem = None
    if quote:
        problem = f"Unterminated quote '{''.join(out)}'"
    kept = "".join(out[:comment_at] if comment_at is not None else out).rstrip(BLANK)
    if continued:
        kept += "\\"
    return CleanLine(kept, continued, problem)


def find_unquoted_brace(text: str) -> int | None:
    """Index of the first `{` or `}` not inside double quotes; None if there is none."""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}":
            return i
        if char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                return None
            i = close + 1
            continue
        i += 1
    return None


def split_first_piece(text: str) -> tuple[str, str]:
    """Split off the first piece of a line: a lone brace, or the text before the first brace.

    Returns (piece, residue); the residue is what keepalived feeds back into its reader.
    """
    if text[:1] in ("{", "}"):
        return text[0], text[1:].lstrip(BLANK).rstrip(BLANK)
    brace = find_unquoted_brace(text)
    if brace is None:
        return text.rstrip(BLANK), ""
    return text[:brace].rstrip(BLANK), text[brace:].rstrip(BLANK)


def split_words(text: str) -> tuple[list[str], str | None]:
    """Split a piece into keyword words (alloc_strvec); returns the words and any problem."""
    words: list[str] = []
    i = 0
    length = len(text)
    while True:
        while i < length and text[i] in WHITE_SPACE:
            i += 1
        if i >= length:
            return words, None
        if text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                return words, f"Unmatched quote: '{text}'"
            words.append(text[i + 1 : close])
            i = close + 1
            continue
        start = i
        while i < length and text[i] not in WHITE_SPACE and text[i] != '"':
            i += 1
        words.append(text[start:i])


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_HEX = "0123456789abcdefABCDEF"


def _escape(text: str, i: int) -> tuple[str, int]:
    """Decode the escape whose character (after the backslash) is at `i`; returns (char, next)."""
    char = text[i]
    if char == "x" and i + 1 < len(text) and text[i + 1] in _HEX:
        value = 0
        i += 1
        while i < len(text) and text[i] in _HEX:
            value = ((value << 4) | int(text[i], 16)) & 0xFF  # keepalived keeps the low byte
            i += 1
        return chr(value), i
    if char == "c" and i + 1 < len(text):
        return chr(ord(text[i + 1]) & 0x1F), i + 2
    if "0" <= char <= "7":
        value = 0
        digits = 0
        while i < len(text) and "0" <= text[i] <= "7" and digits < 3:
            value = (value << 3) + int(text[i])
            i += 1
            digits += 1
        return chr(value & 0xFF), i
    return _SIMPLE_ESCAPES.get(char, char), i + 1


def split_quoted_escaped(text: str) -> tuple[list[str] | None, str | None]:
    """Split like a shell: both quote kinds anywhere in a word, and backslash escapes.

    Returns (words, problem). On an unterminated quote or a trailing backslash the words are None,
    as keepalived then drops the whole command.
    """
    words: list[str] = []
    i = 0
    length = len(text)
    while True:
        while i < length and text[i] in WHITE_SPACE:
            i += 1
        if i >= length:
            return words, None
        word: list[str] = []
        quote = ""
        while i < length:
            char = text[i]
            if char == "\\":
                if i + 1 >= length:
                    return None, f"Missing escape char at end: '{text}'"
                decoded, i = _escape(text, i + 1)
                word.append(decoded)
                continue
            if quote:
                if char == quote:
                    quote = ""
                else:
                    word.append(char)
                i += 1
                continue
            if char in "\"'":
                quote = char
                i += 1
                continue
            if char in WHITE_SPACE:
                break
            word.append(char)
            i += 1
        if quote:
            return None, f"String '{text}': missing terminating {quote}"
        words.append("".join(word))

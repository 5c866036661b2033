"""Where each key of a TOML document is written, so that semantic errors can say FILE:LINE.

`tomllib` reports line numbers for syntax errors only; the values it returns carry no positions.
`TomlLineMap.scan(text)` walks the (already valid) text once more and records, for every table
header and every `key = value`, the line it starts on, under the key's path as the parsed document
has it: `("group", 0, "mount_point")` for `mount_point` in the first `[[group]]`. Keys of inline
tables and dotted keys are recorded too. `line_of(path)` falls back to the nearest enclosing key
that was found, and to line 1, so every error has a line.

The scanner understands exactly what it must to find keys: comments, the four string forms
(multi-line ones included), and bracket nesting (a `key = [` whose array spans lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


class TomlLineMap:
    def __init__(self) -> None:
        self._lines: dict[Path, int] = {}

    def __contains__(self, path: Path) -> bool:
        return path in self._lines

    def line_of(self, path: Sequence[str | int]) -> int:
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return 1

    def record(self, path: Path, line: int) -> None:
        self._lines.setdefault(path, line)

    @classmethod
    def scan(cls, text: str) -> TomlLineMap:
        lines = cls()
        _Scanner(text, lines).run()
        return lines


class _Scanner:
    def __init__(self, text: str, lines: TomlLineMap) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines = lines
        self.table: Path = ()
        self.array_counts: dict[Path, int] = {}

    # ---------------------------------------------------------------------------------- primitives

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos < len(self.text):
                if self.text[self.pos] == "\n":
                    self.line += 1
                self.pos += 1

    def skip_blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    def startswith(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    # ---------------------------------------------------------------------------------- structure

    def run(self) -> None:
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.startswith("[["):
                self.advance(2)
                key = self.read_key()
                self.skip_until("]]")
                path = (*self._resolve(key[:-1]), *key[-1:])
                index = self.array_counts.get(path, 0)
                self.array_counts[path] = index + 1
                self.table = (*path, index)
                self.lines.record(self.table, self.line)
                self.lines.record(self.table[:-1], self.line)
            elif self.peek() == "[":
                self.advance()
                path = self.read_key()
                self.skip_until("]")
                self.table = self._resolve(path)
                for depth in range(1, len(self.table) + 1):  # [a.b] also introduces a
                    self.lines.record(self.table[:depth], self.line)
            else:
                self.key_value(self.table)

    def _resolve(self, path: Path) -> Path:
        """A header's path with the current index of every array of tables it passes through."""
        out: list[str | int] = []
        for part in path:
            out.append(part)
            count = self.array_counts.get(tuple(out))
            if count is not None:
                out.append(count - 1)
        return tuple(out)

    def key_value(self, table: Path) -> None:
        line = self.line
        key = self.read_key()
        path = (*table, *key)
        for depth in range(1, len(key) + 1):
            self.lines.record((*table, *key[:depth]), line)
        self.skip_blank(newlines=False)
        if self.peek() == "=":
            self.advance()
        self.skip_blank(newlines=False)
        self.value(path)

    def read_key(self) -> Path:
        parts: list[str | int] = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char in "\"'":
                parts.append(self.read_string())
            else:
                match = _BARE.match(self.text, self.pos)
                if match is None:
                    return tuple(parts)
                parts.append(match.group())
                self.advance(len(match.group()))
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def skip_until(self, token: str) -> None:
        while self.pos < len(self.text) and not self.startswith(token):
            self.advance()
        self.advance(len(token))

    def value(self, path: Path) -> None:
        char = self.peek()
        if char in "\"'":
            self.read_string()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:
            while self.pos < len(self.text) and self.peek() not in ",]}\n#":
                self.advance()

    def array(self, path: Path) -> None:
        self.advance()  # [
        index = 0
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                index += 1
                continue
            self.lines.record((*path, index), self.line)
            self.value((*path, index))

    def inline_table(self, path: Path) -> None:
        self.advance()  # {
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            self.key_value(path)

    def read_string(self) -> str:
        quote = self.peek()
        triple = self.startswith(quote * 3)
        delimiter = quote * 3 if triple else quote
        self.advance(len(delimiter))
        start = self.pos
        while self.pos < len(self.text):
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
                continue
            if self.startswith(delimiter):
                raw = self.text[start : self.pos]
                self.advance(len(delimiter))
                while triple and self.peek() == quote:  # up to two quotes may close a triple string
                    raw += quote
                    self.advance()
                return _unescape(raw) if quote == '"' else raw
            self.advance()
        return self.text[start:]


def _unescape(raw: str) -> str:
    """Enough of TOML's basic-string escapes for key names (keys with escapes are rare)."""
    out = raw.replace('\\"', '"').replace("\\\\", "\\")
    return out

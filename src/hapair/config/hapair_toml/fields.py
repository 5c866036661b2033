"""Typed, located access to one table of a parsed TOML document.

`TableReader` wraps one table (`dict`) and its path in the document. Every accessor checks the type
and range of one key and, when the value is wrong, records a `ConfigError` at that key's line and
returns the default, so that one run reports every mistake. `finish()` reports keys nobody asked
for, with the closest known key as a suggestion ("did you mean mount_point?").
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import TypeVar

from hapair.config.hapair_toml.lines import Path, TomlLineMap
from hapair.errors import ConfigError

NS_PER_S = 1_000_000_000
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


class Problems:
    """The errors and warnings of one file, each at its line."""

    def __init__(self, file: str, lines: TomlLineMap) -> None:
        self.file = file
        self.lines = lines
        self.errors: list[ConfigError] = []
        self.warnings: list[ConfigError] = []

    def error(self, path: Path, message: str) -> None:
        self.errors.append(ConfigError(self.file, self.lines.line_of(path), message))

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(ConfigError(self.file, self.lines.line_of(path), message))


def describe(path: Path) -> str:
    """A key path as an operator reads it: `group[2].timeouts.mount`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class TableReader:
    def __init__(self, table: Mapping[str, object], path: Path, problems: Problems) -> None:
        self.table = table
        self.path = path
        self.problems = problems
        self._seen: set[str] = set()

    def _get(self, key: str) -> object | None:
        self._seen.add(key)
        return self.table.get(key)

    def _bad(self, key: str, message: str) -> None:
        self.problems.error((*self.path, key), f"{describe((*self.path, key))}: {message}")

    def has(self, key: str) -> bool:
        return key in self.table

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key)
        if value is None:
            if required:
                self.problems.error(self.path, f"{describe(self.path) or 'the file'}: {key} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self._bad(key, "expected a non-empty string")
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._bad(key, "expected true or false")
            return default
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self._bad(key, f"expected a whole number in [{low}, {high}]")
            return default
        return value

    def seconds(self, key: str, default_ns: int, *, positive: bool = True) -> int:
        """A duration written in seconds (`5`, `0.25`), as nanoseconds."""
        value = self._get(key)
        if value is None:
            return default_ns
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(key, "expected a number of seconds")
            return default_ns
        ns = int(Fraction(repr(value)) * NS_PER_S)
        if ns < 0 or (positive and ns == 0) or ns > 86_400 * NS_PER_S:
            limit = "greater than 0" if positive else "0 or more"
            self._bad(key, f"expected seconds {limit} and at most a day")
            return default_ns
        return ns

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self._bad(key, "expected a list of non-empty strings")
            return ()
        return tuple(value)

    def choice(self, key: str, kind: type[E], default: E) -> E:
        value = self._get(key)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            allowed = " or ".join(repr(m.value) for m in kind)
            self._bad(key, f"expected {allowed}")
            return default

    def table_of(self, key: str) -> TableReader | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self._bad(key, "expected a table")
            return None
        return TableReader(value, (*self.path, key), self.problems)

    def raw(self, key: str) -> object | None:
        return self._get(key)

    def map_tables(self, key: str, read: Callable[[str, TableReader], T]) -> list[T]:
        """`[key.NAME]` tables, each read by `read(NAME, reader)`."""
        outer = self.table_of(key)
        if outer is None:
            return []
        out: list[T] = []
        for name, value in outer.table.items():
            outer._seen.add(name)
            if not isinstance(value, dict):
                outer._bad(name, "expected a table")
                continue
            out.append(read(name, TableReader(value, (*outer.path, name), self.problems)))
        return out

    def finish(self) -> None:
        known = sorted(self._seen)
        for key in self.table:
            if key in self._seen:
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self._bad(key, f"unknown key{hint}")

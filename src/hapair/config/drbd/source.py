"""Reading configuration text through an injected reader, and expanding ``include`` statements.

The pure layer never touches the file system: it asks a `SourceReader` for text and for glob
matches. `hapair.adapters.drbd_files.LocalFileReader` is the real one; `MemoryReader` serves tests
and the simulator. The protocol is the same shape as the keepalived parser's reader (``read`` and
``glob``), so one adapter can serve both.

Include rules follow drbdadm (`include_stmt` in drbdadm_parser.c): ``include "pattern";`` is allowed
only at the top level; a relative pattern is taken relative to the directory of the file that
contains it; matches are read in sorted order; a file already read (same normalized path) is not
read twice; a pattern without wildcards that matches nothing is an error ("Failed to open include
file"), a wildcard pattern that matches nothing is fine (``drbd.d/*.res`` in an empty directory).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hapair.errors import ConfigError

from .lexer import tokenize
from .syntax import Statement, parse_statements

MAX_INCLUDE_DEPTH = 10
_GLOB_CHARS = frozenset("*?[")


class SourceReader(Protocol):
    """File access for configuration parsers.

    `read` returns the text of one file and raises OSError (FileNotFoundError, PermissionError, ...)
    or UnicodeDecodeError when it cannot. `glob` returns the paths matching a shell pattern
    (absolute patterns give absolute paths), in any order; an empty list when nothing matches.
    """

    def read(self, path: str) -> str: ...

    def glob(self, pattern: str) -> list[str]: ...


@dataclass(frozen=True)
class MemoryReader:
    """A `SourceReader` over a dict of path -> text (paths as they will be asked for)."""

    files: Mapping[str, str] = field(default_factory=dict)

    def read(self, path: str) -> str:
        norm = posixpath.normpath(path)
        for name, text in self.files.items():
            if posixpath.normpath(name) == norm:
                return text
        raise FileNotFoundError(path)

    def glob(self, pattern: str) -> list[str]:
        norm = posixpath.normpath(pattern)
        return sorted(name for name in self.files if fnmatch.fnmatchcase(posixpath.normpath(name), norm))


@dataclass
class SourceSet:
    """Every top-level statement of a configuration, includes spliced in, and the files read."""

    statements: list[Statement] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


def read_configuration(path: str, reader: SourceReader) -> SourceSet:
    """Read `path` and everything it includes. Problems are collected in the result's `errors`."""
    walker = _IncludeWalker(reader)
    walker.read_file(path, depth=0, included_at=None)
    return walker.result


def statements_from_text(text: str, file: str) -> tuple[list[Statement], list[ConfigError]]:
    """Tokenize and group one file's text (no include expansion)."""
    return parse_statements(tokenize(text, file), file)


class _IncludeWalker:
    def __init__(self, reader: SourceReader) -> None:
        self.reader = reader
        self.result = SourceSet()
        self.seen: set[str] = set()

    def read_file(self, path: str, depth: int, included_at: Statement | None, shown: str = "") -> None:
        result = self.result
        self.seen.add(posixpath.normpath(path))
        try:
            text = self.reader.read(path)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            if included_at is None:
                result.errors.append(ConfigError(path, 0, f"cannot read configuration file: {reason}"))
            else:
                loc = included_at.location
                message = f"Failed to open include file '{shown or path}': {reason}"
                result.errors.append(ConfigError(loc.file, loc.line, message))
            return
        result.files.append(path)
        statements, errors = statements_from_text(text, path)
        result.errors.extend(errors)
        for statement in statements:
            if statement.keyword == "include":
                self.include(statement, path, depth)
            else:
                result.statements.append(statement)

    def include(self, statement: Statement, current: str, depth: int) -> None:
        errors = self.result.errors
        loc = statement.location
        args = statement.args
        if statement.block is not None or len(args) != 1 or not args[0].is_value:
            errors.append(
                ConfigError(
                    loc.file, loc.line, 'Parse error: include takes one file pattern: include "PATTERN";'
                )
            )
            return
        if depth + 1 > MAX_INCLUDE_DEPTH:
            errors.append(
                ConfigError(loc.file, loc.line, f"includes nested more than {MAX_INCLUDE_DEPTH} deep")
            )
            return
        written = pattern = args[0].text
        if not posixpath.isabs(pattern):
            pattern = posixpath.join(posixpath.dirname(current), pattern)
        if _GLOB_CHARS.isdisjoint(pattern):
            matches = [pattern]
        else:
            try:
                matches = sorted(self.reader.glob(pattern))
            except OSError as exc:
                errors.append(
                    ConfigError(loc.file, loc.line, f"cannot expand include pattern '{pattern}': {exc}")
                )
                return
        for match in matches:
            if posixpath.normpath(match) not in self.seen:
                self.read_file(match, depth + 1, statement, written if match == pattern else match)

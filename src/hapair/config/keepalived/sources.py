"""Where configuration text comes from: an injected reader, so the parser stays pure.

The parser never opens a file. It asks a `SourceReader` for the text of a path and for the paths
a glob pattern matches. `hapair.adapters.config_files.FileSystemSources` is the real reader the
CLI uses; `InMemorySources` serves tests (and anything else that holds configuration in memory).

Paths are POSIX strings. The reader is handed paths already joined with the including file's
directory; csh brace expressions (`{a,b}`) are expanded here, before the reader sees a pattern,
because keepalived globs with GLOB_BRACE and Python's glob does not.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping
from typing import Protocol

from hapair.errors import HapairError

_GLOB_CHARS = re.compile(r"[*?\[]")


class SourceUnavailable(HapairError):
    """A configuration file could not be read (missing, a directory, unreadable, not text)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SourceReader(Protocol):
    """Gives the parser file contents and glob matches without the parser doing I/O."""

    def read(self, path: str) -> str:
        """The text of `path` (UTF-8); raises `SourceUnavailable` when it cannot be read."""
        ...

    def glob(self, pattern: str) -> list[str]:
        """Regular files matching `pattern` (no brace expressions), sorted; [] when none match."""
        ...


def has_glob_magic(pattern: str) -> bool:
    return _GLOB_CHARS.search(pattern) is not None


def expand_braces(pattern: str) -> list[str]:
    """csh-style brace expansion as glob(GLOB_BRACE) does it: `a{b,c{d,e}}` -> ab, acd, ace.

    An unbalanced brace or a brace group without a comma is kept literally, as glob does.
    """
    start = _find_brace_group(pattern)
    if start is None:
        return [pattern]
    open_at, close_at, alternatives = start
    prefix, suffix = pattern[:open_at], pattern[close_at + 1 :]
    out: list[str] = []
    for alternative in alternatives:
        out.extend(expand_braces(prefix + alternative + suffix))
    return out


def _find_brace_group(pattern: str) -> tuple[int, int, list[str]] | None:
    """The first brace group that has a matching close brace and at least one top-level comma."""
    index = 0
    while True:
        open_at = pattern.find("{", index)
        if open_at < 0:
            return None
        depth = 0
        parts: list[str] = []
        part_start = open_at + 1
        for pos in range(open_at, len(pattern)):
            char = pattern[pos]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    parts.append(pattern[part_start:pos])
                    if len(parts) > 1:
                        return open_at, pos, parts
                    break
            elif char == "," and depth == 1:
                parts.append(pattern[part_start:pos])
                part_start = pos + 1
        index = open_at + 1


def glob_match(pattern: str, path: str) -> bool:
    """True when `path` matches the glob `pattern` component by component, as glob(3) does.

    `*` and `?` never match `/`, and a leading `.` in a component must be matched explicitly.
    """
    pattern_parts = pattern.split("/")
    path_parts = path.split("/")
    if len(pattern_parts) != len(path_parts):
        return False
    for pat, name in zip(pattern_parts, path_parts, strict=True):
        if not has_glob_magic(pat):
            if pat != name:
                return False
            continue
        if name.startswith(".") and not pat.startswith("."):
            return False
        if not fnmatch.fnmatchcase(name, pat):
            return False
    return True


class InMemorySources:
    """A `SourceReader` over a mapping of normalised paths to text (tests, generated configs)."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self._files = {posixpath.normpath(path): text for path, text in files.items()}

    def read(self, path: str) -> str:
        try:
            return self._files[posixpath.normpath(path)]
        except KeyError:
            raise SourceUnavailable(path, "No such file or directory") from None

    def glob(self, pattern: str) -> list[str]:
        if not has_glob_magic(pattern):
            return [pattern] if posixpath.normpath(pattern) in self._files else []
        normalised = posixpath.normpath(pattern)
        keep_dot_prefix = pattern.startswith("./")
        matches = []
        for path in self._files:
            if glob_match(normalised, path):
                matches.append("./" + path if keep_dot_prefix else path)
        return sorted(matches)

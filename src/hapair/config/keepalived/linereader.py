"""keepalived's line reader: files and includes in, located logical lines out.

This is the part of keepalived's parser (lib/parser.c `read_line`) that runs before any keyword is
looked at. For every physical line it, in keepalived's order:

1. drops the comment and surrounding blanks (`words.decomment`); a multi-line `$NAME=` definition
   in progress swallows the line instead;
2. applies conditional lines: `@ID rest` is kept only when the config id is ID, `@^ID rest` only
   when it is not (the id is `-i ID`, by default the host name up to the first dot);
3. stores parameter definitions `$NAME=value` (multi-line with trailing backslashes);
4. unrolls `~SEQ(var, start, step, end)`, `~SEQx(...)` and `~LST(var, v1, v2, ...)` /
   `~LST({a,b}, {1,2}, ...)` lines;
5. substitutes `$NAME` (followed by blank, `,`, `)` or the end) and `${NAME}`, recursively;
   predefined: `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`, `${_HASH}`, `${_BANG}`;
6. splices `include PATTERN` (and includer/includem/includew/includeb/includea/includet) files in,
   globs and csh braces expanded relative to the including file's directory, anywhere (also
   inside blocks);
7. cuts the line at unquoted braces, so `{` and `}` always arrive as lines of their own, and counts
   them ("Extra '}' found").

Each resulting `ConfigLine` keeps the file (as keepalived names it: the include pattern's match,
relative to the including file) and line it came from. Deliberate differences from keepalived: a
missing include file is an ERROR (keepalived only logs it); a substitution that never ends
(`$A=${A}x`, or `$A=$B` with `$B=$A`, on which keepalived garbles the line or hangs) is an ERROR
and the line is dropped; includes nest at most `MAX_INCLUDE_DEPTH` deep.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hapair.config.keepalived.diagnostics import Diagnostics
from hapair.config.keepalived.expansion import Definitions, unroll_loop
from hapair.config.keepalived.sources import SourceReader, SourceUnavailable, expand_braces
from hapair.config.keepalived.words import BLANK, decomment, split_first_piece, split_words
from hapair.errors import SourceLocation

MAX_INCLUDE_DEPTH = 32
MAX_EXPANSION_DEPTH = 64
INCLUDE_KEYWORDS = frozenset(
    {"include", "includer", "includem", "includew", "includeb", "includea", "includet"}
)


@dataclass(frozen=True, slots=True)
class ConfigLine:
    """One logical line: its words, its text after substitution, and where it came from."""

    words: tuple[str, ...]
    text: str
    location: SourceLocation

    @property
    def keyword(self) -> str:
        return self.words[0]


@dataclass(slots=True)
class _MultilineDefinition:
    name: str
    lines: list[str]


class LineReader:
    """Reads one configuration (and everything it includes) as a stream of `ConfigLine`s."""

    def __init__(
        self,
        reader: SourceReader,
        issues: Diagnostics,
        *,
        config_id: str | None,
        random_int: Callable[[int, int], int] | None = None,
        working_directory: str = "",
    ) -> None:
        self._reader = reader
        self._issues = issues
        self._config_id = config_id
        self._working_directory = working_directory
        self._definitions = Definitions(config_id=config_id, random_int=random_int)
        self._block_depth = 0
        self._building: _MultilineDefinition | None = None
        self._last_location: SourceLocation | None = None

    # -- files ---------------------------------------------------------------------------------

    def read(self, path: str) -> Iterator[ConfigLine]:
        """Lines of the file `path` and its includes; reports an unreadable `path` as FATAL."""
        try:
            text = self._reader.read(path)
        except SourceUnavailable as exc:
            self._issues.fatal(f"Configuration file '{path}' open problem ({exc.reason}) - skipping", None)
            return
        yield from self._read_text(text, path, path, depth=0)
        if self._block_depth > 0:
            self._issues.error(
                f"There are {self._block_depth} missing '}}'s or extra '{{'s", self._last_location
            )

    def _read_text(self, text: str, path: str, display: str, depth: int) -> Iterator[ConfigLine]:
        directory = posixpath.dirname(path)
        previous_pwd = self._definitions.pwd
        self._definitions.pwd = posixpath.normpath(
            posixpath.join(self._working_directory, directory)
            if directory or self._working_directory
            else "."
        )
        for number, physical in enumerate(text.split("\n"), start=1):
            location = SourceLocation(display, number)
            raw = physical.rstrip("\r")
            if raw.strip():
                self._last_location = location
            if self._building is not None:
                self._continue_definition(raw, location)
                continue
            if not raw:
                continue
            clean = decomment(raw)
            if clean.problem is not None:
                self._issues.error(clean.problem, location)
            if clean.text:
                yield from self._process(clean.text, location, directory, depth)
        self._finish_definition()
        self._definitions.pwd = previous_pwd

    def _continue_definition(self, raw: str, location: SourceLocation) -> None:
        """Add a physical line to the multi-line definition being built (keepalived rules)."""
        if not raw:
            self._finish_definition()
            return
        clean = decomment(raw)
        if clean.problem is not None:
            self._issues.error(clean.problem, location)
        if not clean.text:
            return
        text = clean.text
        continued = text.endswith("\\")
        if continued:
            text = text[:-1].rstrip(BLANK)
        assert self._building is not None
        if text or not continued:
            self._building.lines.append(text)
        if not continued:
            self._finish_definition()

    def _finish_definition(self) -> None:
        if self._building is not None:
            self._definitions.define(self._building.name, "\n".join(self._building.lines))
            self._building = None

    # -- one line ------------------------------------------------------------------------------

    def _process(
        self, text: str, location: SourceLocation, directory: str, depth: int
    ) -> Iterator[ConfigLine]:
        queue: deque[str] = deque(self._expand(text, location, 0))
        while queue:
            current = queue.popleft()
            words, _ = split_words(current)
            if len(words) == 2 and words[0] in INCLUDE_KEYWORDS:
                yield from self._include(words[1], location, directory, depth)
                continue
            piece, residue = split_first_piece(current)
            yield from self._emit(piece, location)
            if residue:
                queue.extendleft(reversed(list(self._expand(residue, location, 0))))

    def _emit(self, piece: str, location: SourceLocation) -> Iterator[ConfigLine]:
        if piece == "{":
            self._block_depth += 1
        elif piece == "}":
            if self._block_depth < 1:
                self._issues.error("Extra '}' found", location)
                self._block_depth = 0
            else:
                self._block_depth -= 1
        words, problem = split_words(piece)
        if problem is not None:
            self._issues.error(problem, location)
        if words:
            yield ConfigLine(tuple(words), piece, location)

    def _expand(self, text: str, location: SourceLocation, depth: int) -> Iterator[str]:
        """Conditionals, definitions, loops and substitution; yields the lines that remain."""
        if depth > MAX_EXPANSION_DEPTH:
            self._issues.error(f"Expansion nested too deeply on line '{text}' - ignoring", location)
            return
        extra_lines: list[str] = []
        while True:
            if text.startswith("@"):
                kept = self._conditional(text)
                if kept is None:
                    return
                text = kept
            if text.startswith("$"):
                definition = self._definitions.parse_definition(text)
                if definition is not None:
                    name, value, multiline = definition
                    if multiline:
                        self._building = _MultilineDefinition(name, [value] if value else [])
                    else:
                        self._definitions.define(name, value)
                    return
            if text.startswith(("~SEQ", "~LST")):
                loop = unroll_loop(text, self._definitions)
                for problem in loop.problems:
                    self._issues.error(problem, location)
                for assignments, body in loop.iterations:
                    for name, value in assignments:
                        self._definitions.define(name, value)
                    yield from self._expand(body, location, depth + 1)
                return
            if text.startswith("~") or "$" not in text:
                break
            substituted = self._definitions.substitute(text)
            if substituted.problem is not None:
                self._issues.error(substituted.problem, location)
                return
            if not substituted.changed:
                break
            text = substituted.text
            extra_lines = substituted.extra_lines + extra_lines
            if not (text.startswith("@") or "$" in text):
                break
        if text:
            yield text
        for line in extra_lines:
            yield from self._expand(line, location, depth + 1)

    def _conditional(self, text: str) -> str | None:
        """`@ID rest` / `@^ID rest`: the rest if the line applies to this config id, else None."""
        negate = text.startswith("@^")
        start = 2 if negate else 1
        blank = min((i for i in (text.find(" ", start), text.find("\t", start)) if i >= 0), default=-1)
        if blank < 0:
            return None
        matches = self._config_id is not None and text[start:blank] == self._config_id
        if matches == negate:
            return None
        return text[blank:].lstrip(BLANK)

    # -- includes ------------------------------------------------------------------------------

    def _include(
        self, pattern: str, location: SourceLocation, directory: str, depth: int
    ) -> Iterator[ConfigLine]:
        if depth >= MAX_INCLUDE_DEPTH:
            self._issues.error(
                f"include nesting deeper than {MAX_INCLUDE_DEPTH} at '{pattern}' - skipping", location
            )
            return
        found = False
        for alternative in expand_braces(pattern):
            joined = (
                alternative if alternative.startswith("/") or not directory else f"{directory}/{alternative}"
            )
            for match in self._reader.glob(joined):
                found = True
                display = match[len(directory) + 1 :] if joined != alternative else match
                try:
                    text = self._reader.read(match)
                except SourceUnavailable as exc:
                    self._issues.error(
                        f"Configuration file '{display}' open problem ({exc.reason}) - skipping", location
                    )
                    continue
                yield from self._read_text(text, match, display, depth + 1)
        if not found:
            self._issues.error(f"Config files missing '{pattern}'.", location)

"""keepalived's keyword-table driven block reader (lib/parser.c `process_stream`).

keepalived does not build a syntax tree first: it walks the line stream with a table of the
keywords allowed at the current level. A keyword may have a handler (called with its line), a
table of sub-keywords (then a `{ ... }` block follows, on the same line or the next), and a close
handler run when its block ends. Handlers that own a *value block* (`virtual_ipaddress { ... }`,
`track_script { ... }`, ...) read the lines up to the matching `}` themselves, as raw word lists.

The walk reproduces keepalived's reactions to malformed structure, so hapair reports the same
things at the same lines: "Unknown keyword 'x'", "Unexpected '{' - ignoring", "Missing '{' at
beginning of configuration block", and, at the top level, a stray `}` as "Unknown keyword '}'".
An unknown keyword's block is not skipped: its lines are read at the current level, as keepalived
does. Inactive keywords (sections hapair leaves to other programs, such as `virtual_server`) have
their whole block skipped unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from hapair.config.keepalived.diagnostics import Diagnostics
from hapair.config.keepalived.linereader import ConfigLine
from hapair.errors import SourceLocation

Handler = Callable[[ConfigLine], None]
EntryHandler = Callable[[tuple[str, ...], ConfigLine], None]


@dataclass(frozen=True, slots=True)
class Keyword:
    """What a keyword does: see the module docstring."""

    handler: Handler | None = None
    sub: Mapping[str, Keyword] | None = None
    end: Callable[[], None] | None = None
    active: bool = True


class BlockWalker:
    """Walks a `ConfigLine` stream through keyword tables, calling the keywords' handlers."""

    def __init__(self, lines: Iterator[ConfigLine], issues: Diagnostics) -> None:
        self._lines = lines
        self._issues = issues
        self._skip = 0  # >0: inside a skipped block (brace depth); -1: skip the block that follows
        self.location: SourceLocation | None = None  # where the last line read came from

    def run(self, table: Mapping[str, Keyword]) -> None:
        self._stream(table, need_open=False, depth=0)

    def skip_block(self) -> None:
        """Called by a handler that refuses its keyword: the keyword's block is skipped unseen."""
        self._skip = -1

    def parameter(self, line: ConfigLine, index: int) -> str | None:
        """Word `index` of `line`; a missing one is reported as keepalived's fatal error."""
        if index < len(line.words):
            return line.words[index]
        after = f" after keyword `{line.words[index - 1]}`" if 0 < index <= len(line.words) else ""
        self._issues.fatal(
            f"*** Configuration line starting `{line.words[0]}` is missing a parameter{after}"
            f" at word position {index + 1}",
            line.location,
        )
        return None

    def _stream(self, table: Mapping[str, Keyword], need_open: bool, depth: int) -> bool:
        """Process lines at one level; returns True when the level ended inside a skipped block."""
        for line in self._lines:
            self.location = line.location
            first = line.words[0]
            if self._skip == -1:
                if first == "{":
                    self._skip = 1
                    need_open = False
                    continue
                self._skip = 0
            if self._skip:
                for word in line.words:
                    if word == "{":
                        self._skip += 1
                    elif word == "}":
                        self._skip -= 1
                        if self._skip == 0:
                            break
                if first == "}" and self._skip == 0 and depth > 0:
                    return True
                continue
            if need_open:
                need_open = False
                if first == "{" and depth > 0:
                    continue
                self._issues.error("Missing '{' at beginning of configuration block", line.location)
            elif first == "{":
                self._issues.error("Unexpected '{' - ignoring", line.location)
                continue
            if first == "}" and depth > 0:
                return False
            keyword = table.get(first)
            if keyword is None:
                self._issues.error(f"Unknown keyword '{first}'", line.location)
                continue
            self._dispatch(keyword, line, depth)
        return False

    def _dispatch(self, keyword: Keyword, line: ConfigLine, depth: int) -> None:
        if not keyword.active:
            self._skip = 1 if line.words[-1] == "{" else -1
        open_on_line = False
        if keyword.sub is not None and line.words[-1] == "{" and len(line.words) > 1:
            line = ConfigLine(line.words[:-1], line.text, line.location)
            open_on_line = True
        if keyword.active and keyword.handler is not None:
            keyword.handler(line)
        if keyword.sub is not None:
            skipped = self._stream(keyword.sub, need_open=not open_on_line, depth=depth + 1)
            if not skipped and keyword.active and keyword.end is not None:
                keyword.end()

    def value_block(self, header: ConfigLine, on_entry: EntryHandler) -> None:
        """Read the `{ ... }` block after `header` as raw entries (keepalived alloc_value_block)."""
        need_open = True
        pending: tuple[str, ...] | None = None
        if len(header.words) > 1:
            if header.words[1] == "{":
                need_open = False
                rest = header.words[2:]
                if rest and rest[-1] == "}":
                    if rest[:-1]:
                        on_entry(rest[:-1], header)
                    return
                pending = rest or None
            else:
                self._issues.error(
                    f"Block {header.words[0]} has extra parameters {header.words[1]} ...", header.location
                )
        if pending:
            on_entry(pending, header)
        for line in self._lines:
            self.location = line.location
            words = line.words
            if need_open:
                need_open = False
                if words[0] == "{":
                    if len(words) == 1:
                        continue
                    words = words[1:]
                else:
                    self._issues.warning(
                        f"'{{' missing from beginning of block {header.words[0]}", line.location
                    )
            closed = words[-1] == "}"
            if closed:
                words = words[:-1]
            if words:
                on_entry(words, line)
            if closed:
                return

    def value_words(self, header: ConfigLine) -> list[tuple[str, ConfigLine]]:
        """Every word of a value block with its line (keepalived read_value_block)."""
        collected: list[tuple[str, ConfigLine]] = []
        self.value_block(header, lambda words, line: collected.extend((word, line) for word in words))
        return collected

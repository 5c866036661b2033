"""Parameter definitions, `$NAME` substitution and `~SEQ`/`~LST` loops (keepalived 2.2.7).

See keepalived.conf(5) "ADVANCED CONFIGURATION". Substitution happens when a line is used, not when
a definition is made, and is recursive: after `$A=x${B}`, `$B=1`, the text `${A}` becomes `x1`.
An undefined `$NAME` stays as it is. A multi-line definition may only be used at the end of a line;
its first line replaces the reference and its further lines follow as lines of their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_LINE_LENGTH = 1024  # keepalived's MAXBUF: longer substitutions are refused
MAX_SUBSTITUTIONS = 256  # hapair's guard against definitions that refer to themselves

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINITION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*(.*)\Z", re.DOTALL)
_PLAIN_END = frozenset(" \t,)")


@dataclass(frozen=True, slots=True)
class Substitution:
    text: str
    changed: bool
    extra_lines: list[str] = field(default_factory=list)
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Loop:
    """An unrolled `~SEQ`/`~LST` line: per iteration, the variables to set and the line body.

    `problems` holds keepalived's messages when the line is malformed (then there are no
    iterations): for ~SEQ the specific one, if any, then "Invalid ~SEQ specification '...'".
    """

    iterations: list[tuple[list[tuple[str, str]], str]]
    problems: tuple[str, ...] = ()


class Definitions:
    """The `$NAME` table of one configuration read, with keepalived's predefined names."""

    def __init__(self, *, config_id: str | None, random_int: Callable[[int, int], int] | None) -> None:
        self._values: dict[str, str] = {}
        self._config_id = config_id
        self._random_int = random_int
        self.pwd = "."

    def define(self, name: str, value: str) -> None:
        self._values[name] = value

    def parse_definition(self, text: str) -> tuple[str, str, bool] | None:
        """(name, value, multiline) when `text` is `$NAME=value`, else None."""
        match = _DEFINITION.match(text)
        if match is None:
            return None
        name, value = match.group(1), match.group(2)
        if value.endswith("\\"):
            return name, value[:-1].rstrip(" \t"), True
        return name, value, False

    def _lookup(self, name: str, params: list[int] | None) -> tuple[str, bool] | None:
        """(value, multiline) of a defined name; predefined names are computed on use."""
        if name in self._values:
            if params is not None:
                return None
            value = self._values[name]
            return value, "\n" in value
        if params is not None and name != "_RANDOM":
            return None
        if name == "_PWD":
            return self.pwd, False
        if name == "_INSTANCE":
            return self._config_id or "", False
        if name == "_HASH":
            return "#", False
        if name == "_BANG":
            return "!", False
        if name == "_RANDOM":
            low, high = 0, 32767
            if params:
                low = params[0]
                if len(params) > 1:
                    high = params[1]
            if self._random_int is None or high < low:
                return str(low), False
            return str(self._random_int(low, high)), False
        return None

    def _reference_at(self, text: str, dollar: int) -> tuple[str, bool, int] | None:
        """The substitution for a `$` at `dollar`: (value, multiline, end of reference) or None."""
        braced = text.startswith("{", dollar + 1)
        start = dollar + 2 if braced else dollar + 1
        name_match = _NAME.match(text, start)
        if name_match is None:
            return None
        name = name_match.group(0)
        end = name_match.end()
        params: list[int] | None = None
        if braced:
            close = text.find("}", end)
            if close < 0:
                return None
            inner = text[end:close]
            if inner:
                if not re.fullmatch(r"(?: +[0-9]+)+", inner):
                    return None
                params = [int(p) for p in inner.split()]
            end = close + 1
        elif end < len(text) and text[end] not in _PLAIN_END:
            return None
        found = self._lookup(name, params)
        if found is None:
            return None
        value, multiline = found
        if multiline and end != len(text):
            return None  # a multi-line definition is only usable at the end of a line
        return value, multiline, end

    def substitute(self, text: str) -> Substitution:
        """Replace every defined reference, rescanning each replacement (keepalived's order)."""
        original = text
        changed = False
        extra: list[str] = []
        position = 0
        count = 0
        while True:
            dollar = text.find("$", position)
            if dollar < 0 or dollar + 1 >= len(text):
                break
            reference = self._reference_at(text, dollar)
            if reference is None:
                position = dollar + 1
                continue
            value, multiline, end = reference
            if multiline:
                first, _, rest = value.partition("\n")
                extra = rest.split("\n") + extra
                value = first
            text = text[:dollar] + value + text[end:]
            changed = True
            count += 1
            if len(text) >= MAX_LINE_LENGTH or count > MAX_SUBSTITUTIONS:
                return Substitution(
                    original,
                    False,
                    problem=f"Parameter substitution on line '{original}' would exceed maximum line length",
                )
            if value.lstrip(" \t").startswith("~"):
                break
            position = dollar
        return Substitution(text, changed, extra)


def _c_strtol(text: str) -> tuple[int, str] | None:
    """C strtol(text, &end, 0): (value, rest) or None when no number starts the text."""
    match = re.match(r"[ \t]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if match is None:
        return None
    digits = match.group(2)
    if digits[:2].lower() == "0x":
        value = int(digits, 16)
    elif digits.startswith("0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    return (-value if match.group(1) == "-" else value), text[match.end() :]


def _split_loop_head(text: str, definitions: Definitions) -> tuple[str, str] | None:
    """`~XXX(args) body` -> (args with parameters substituted, body); None if malformed."""
    open_at = text.find("(")
    close_at = text.find(")", open_at + 1)
    if open_at < 0 or close_at < 0 or text[4:open_at].strip(" \t") not in ("", "x"):
        return None
    substituted = definitions.substitute(text[open_at + 1 : close_at])
    if substituted.problem is not None or substituted.extra_lines:
        return None
    return substituted.text, text[close_at + 1 :].lstrip(" \t")


def _seq_failure(text: str, detail: str | None) -> Loop:
    specification = f"Invalid ~SEQ specification '{text}'"
    return Loop([], (detail, specification) if detail else (specification,))


def _unroll_seq(text: str, definitions: Definitions) -> Loop:
    head = _split_loop_head(text, definitions)
    hexadecimal = text.startswith("~SEQx")
    if head is None:
        return _seq_failure(text, None)
    definition = f"Invalid ~SEQ definition '{text}'"
    args, body = head
    name, sep, numbers_text = args.partition(",")
    name = name.strip(" \t")
    if not sep or _NAME.fullmatch(name) is None:
        return _seq_failure(text, definition)
    numbers: list[int] = []
    rest = numbers_text
    while True:
        parsed = _c_strtol(rest)
        if parsed is None:
            return _seq_failure(text, definition)
        value, rest = parsed
        numbers.append(value)
        rest = rest.lstrip(" \t")
        if not rest:
            break
        if not rest.startswith(",") or len(numbers) == 3:
            return _seq_failure(text, definition)
        rest = rest[1:]
    if len(numbers) == 1:
        end = numbers[0]
        start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
    elif len(numbers) == 2:
        start, end = numbers
        step = 1 if start <= end else -1
    else:
        start, step, end = numbers
        if step == 0 or (start < end and step < 0) or (start > end and step > 0):
            return _seq_failure(text, f"Invalid ~SEQ values '{text}'")
    if hexadecimal and (start < 0 or end < 0):
        return _seq_failure(text, f"~SEQx is only valid for positive numbers '{text}'")
    iterations = []
    value = start
    while True:
        shown = format(value, "x") if hexadecimal else str(value)
        iterations.append(([(name, shown)], body))
        value += step
        if (step > 0 and value > end) or (step < 0 and value < end):
            break
    return Loop(iterations)


def _split_top_level(text: str) -> list[str] | None:
    """Comma-separated items, commas inside {...} kept; None on unbalanced braces."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return None
        if char == "," and depth == 0:
            items.append("".join(current).strip(" \t"))
            current = []
        else:
            current.append(char)
    if depth:
        return None
    items.append("".join(current).strip(" \t"))
    return items


def _group(item: str) -> list[str]:
    if item.startswith("{") and item.endswith("}"):
        return [part.strip(" \t") for part in item[1:-1].split(",")]
    return [item]


def _unroll_list(text: str, definitions: Definitions) -> Loop:
    head = _split_loop_head(text, definitions)
    invalid = Loop([], (f"Invalid ~LST specification '{text}'",))
    if head is None:
        return invalid
    args, body = head
    items = _split_top_level(args)
    if items is None or len(items) < 2:
        return invalid
    names = _group(items[0])
    if any(_NAME.fullmatch(name) is None for name in names):
        return invalid
    iterations = []
    for item in items[1:]:
        values = _group(item)
        if len(values) > len(names):
            return Loop([], (f"~LST specification has too many values '{text}'",))
        if len(values) < len(names):
            return invalid
        iterations.append((list(zip(names, values, strict=True)), body))
    return Loop(iterations)


def unroll_loop(text: str, definitions: Definitions) -> Loop:
    """Unroll a line starting `~SEQ`, `~SEQx` or `~LST` (keepalived.conf(5) "Sequence blocks")."""
    if text.startswith("~SEQ"):
        return _unroll_seq(text, definitions)
    return _unroll_list(text, definitions)

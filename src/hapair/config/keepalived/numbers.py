"""keepalived 2.2.7's number readers, with their messages, as `keepalived -t` behaves.

keepalived reads numbers with strtol/strtoul and reports problems in fixed words, e.g.
`number '300' outside range [1, 255]`, `invalid number 'abc'`, `negative number '-1'`. The keyword
handler then usually adds its own message ("(X): VRID '300' not valid - must be between 1 & 255").
Times are read as decimals with microsecond resolution and printed with six decimals in range
errors (`number '0' outside range [0.010000, 255.000000]`).

`NumberResult.problem` says why a read failed ("invalid", "negative", "range"), because some
keepalived handlers react differently: `preempt_delay abc` only gets "invalid number 'abc'" (and
delay 0), while `preempt_delay -1` also gets the handler's own message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
TIMER_HZ = 1_000_000
TIMER_DIGITS = 6

Report = Callable[[str], None]

_WHITE = " \t\f\n\r\v"
_SIGNED_PREFIX = re.compile(r"[ \t\f\n\r\v]*([+-]?[0-9]+)")
_DECIMAL = re.compile(r"([0-9]*)(?:\.([0-9]*))?\Z")


@dataclass(frozen=True, slots=True)
class NumberResult:
    ok: bool
    value: int
    problem: str | None = None  # "invalid", "negative" or "range" when not ok


def read_int(text: str, low: int, high: int, report: Report) -> NumberResult:
    """keepalived read_int: a signed decimal integer in [low, high]."""
    match = _SIGNED_PREFIX.match(text)
    value = int(match.group(1)) if match else 0
    if (match.end() if match else 0) != len(text):
        report(f"invalid number '{text}'")
        return NumberResult(False, value, "invalid")
    if value < INT_MIN or value > INT_MAX:
        report(f"number '{text}' outside integer range")
        return NumberResult(False, value, "range")
    if value < low or value > high:
        report(f"number '{text}' outside range [{low}, {high}]")
        return NumberResult(False, value, "range")
    return NumberResult(True, value)


def read_unsigned(text: str, low: int, high: int, report: Report) -> NumberResult:
    """keepalived read_unsigned: an unsigned decimal integer in [low, high]."""
    stripped = text.lstrip(_WHITE)
    if stripped.startswith("-"):
        report(f"negative number '{text}'")
        return NumberResult(False, 0, "negative")
    match = re.match(r"\+?([0-9]*)", stripped)
    assert match is not None
    digits = match.group(1)
    if match.end() != len(stripped) or (not digits and match.end() > 0):
        report(f"invalid number '{text}'")
        return NumberResult(False, int(digits) if digits else 0, "invalid")
    value = int(digits) if digits else 0
    if value > UINT_MAX:
        report(f"number '{text}' outside unsigned integer range")
        return NumberResult(False, value, "range")
    if value < low or value > high:
        report(f"number '{text}' outside range [{low}, {high}]")
        return NumberResult(False, value, "range")
    return NumberResult(True, value)


def _format_micro(value: int) -> str:
    return f"{value // TIMER_HZ}.{value % TIMER_HZ:06d}"


def read_decimal(text: str, low: int, high: int, report: Report) -> NumberResult:
    """keepalived read_decimal_unsigned with 6 digits: a time in microseconds in [low, high]."""
    stripped = text.lstrip(_WHITE)
    if stripped.startswith("-"):
        report(f"negative number '{text}'")
        return NumberResult(False, 0, "negative")
    if stripped.startswith("+"):
        stripped = stripped[1:]
    match = _DECIMAL.match(stripped)
    if match is None or (stripped and not match.group(1) and not match.group(2)):
        report(f"invalid number '{text}'")
        return NumberResult(False, 0, "invalid")
    whole = int(match.group(1)) if match.group(1) else 0
    fraction = match.group(2) or ""
    if len(fraction) > TIMER_DIGITS:
        report(f"number '{text}' has too many decimal places")
        extra = len(fraction) - TIMER_DIGITS
        micro = (int(fraction) + 5 * 10 ** (extra - 1)) // 10**extra
    else:
        micro = int(fraction.ljust(TIMER_DIGITS, "0")) if fraction else 0
    value = whole * TIMER_HZ + micro
    if value < low or value > high:
        report(f"number '{text}' outside range [{_format_micro(low)}, {_format_micro(high)}]")
        return NumberResult(False, value, "range")
    return NumberResult(True, value)


def check_true_false(text: str) -> bool | None:
    """keepalived's <BOOL>: on/true/yes, off/false/no; None for anything else."""
    if text in ("true", "on", "yes"):
        return True
    if text in ("false", "off", "no"):
        return False
    return None

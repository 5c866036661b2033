"""keepalived-style logging with a per-key rate limit (hapair.daemon.log_lines)."""

from __future__ import annotations

import io
import logging

from hapair.daemon.log_lines import RateLimitedLog, console_handler

S = 1_000_000_000


def make(detailed: bool = False) -> tuple[RateLimitedLog, list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger(f"test.loglines.{id(lines)}")
    logger.handlers = [Collect()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return RateLimitedLog(logger, detailed_enabled=detailed, burst=2, window_ns=10 * S), lines


def test_detailed_lines_only_with_detail_enabled() -> None:
    log, lines = make(detailed=False)
    assert not log.line("(VI_1) setting VIPs.", 0, detailed=True)
    assert log.line("(VI_1) Entering MASTER STATE", 0)
    assert lines == ["(VI_1) Entering MASTER STATE"]
    verbose, more = make(detailed=True)
    assert verbose.line("(VI_1) setting VIPs.", 0, detailed=True)
    assert more == ["(VI_1) setting VIPs."]


def test_keyed_lines_are_rate_limited_and_the_suppressed_count_is_reported() -> None:
    log, lines = make()
    text = "(VI_1) received an invalid passwd!"
    results = [log.line(text, i * S // 10, key="auth") for i in range(5)]
    assert results == [True, True, False, False, False]
    assert log.line("other key", S, key="other")
    assert log.line(text, 11 * S, key="auth")
    assert lines == [text, text, "other key", f"{text} (3 similar messages suppressed)"]


def test_unkeyed_lines_are_never_limited() -> None:
    log, lines = make()
    for _ in range(10):
        log.line("(VI_1) Entering BACKUP STATE", 0)
    assert len(lines) == 10


def test_console_format_is_keepalived_s() -> None:
    stream = io.StringIO()
    handler = console_handler(stream)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "(VI_1) Entering MASTER STATE", None, None)
    record.created = 1_795_728_844.0  # Thu Nov 26 2026
    handler.handle(record)
    text = stream.getvalue()
    assert text.endswith(": (VI_1) Entering MASTER STATE\n")
    day, month = text.split()[:2]
    assert day in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} and month == "Nov"

"""Runs keepalived-style notify and track scripts.

keepalived execs scripts directly (argv split from the configured string, no shell) and does not
wait for notify scripts; a track script that outlives its timeout is killed and counts as failed.
Each script runs in its own session, so a timeout ends the whole process group, by its PID, and a
shell script's children do not linger. Every run has a timeout and the number of scripts running
at once is bounded, so a hung script can neither block the engine nor pile up processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger("hapair.scripts")

NOTIFY_TIMEOUT_S = 60.0
KILL_GRACE_S = 1.0


@dataclass(frozen=True, slots=True)
class ScriptOutcome:
    """How a script ended: an exit status, a signal, a timeout, or failure to start."""

    argv: tuple[str, ...]
    exit_status: int | None
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out and self.error is None


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class ScriptRunner:
    """Starts scripts as child processes with timeouts and a bound on concurrency."""

    def __init__(self, max_running: int = 32) -> None:
        self._slots = asyncio.Semaphore(max_running)
        self._background: set[asyncio.Task[ScriptOutcome]] = set()

    async def run(self, argv: Sequence[str], timeout_s: float) -> ScriptOutcome:
        """Run a script to completion (or until the timeout) and report how it ended."""
        args = tuple(argv)
        async with self._slots:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *args,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                return ScriptOutcome(args, None, error=f"cannot run {args[0]}: {exc.strerror}")
            try:
                status = await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                _kill_group(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), KILL_GRACE_S)
                except TimeoutError:
                    _kill_group(proc.pid, signal.SIGKILL)
                    await proc.wait()
                return ScriptOutcome(args, proc.returncode, timed_out=True)
            except asyncio.CancelledError:
                _kill_group(proc.pid, signal.SIGKILL)
                await proc.wait()
                raise
            return ScriptOutcome(args, status)

    def start(self, argv: Sequence[str], timeout_s: float = NOTIFY_TIMEOUT_S) -> None:
        """Start a script without waiting for it (notify scripts); failures are logged."""
        task = asyncio.get_running_loop().create_task(self.run(argv, timeout_s))
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[ScriptOutcome]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        outcome = task.result()
        if outcome.error:
            log.warning("%s", outcome.error)
        elif outcome.timed_out:
            log.warning("Script %s timed out", outcome.argv[0])
        elif outcome.exit_status:
            log.info("Script %s exited with status %d", outcome.argv[0], outcome.exit_status)

    @property
    def running(self) -> int:
        return len(self._background)

    async def wait_idle(self, timeout_s: float) -> None:
        """Wait for background scripts, e.g. notify_stop at shutdown, at most `timeout_s`."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)

    async def close(self) -> None:
        """Cancel background scripts; their process groups are killed."""
        tasks = set(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

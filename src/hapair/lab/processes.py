"""Commands and long-running processes inside a lab host.

Every process is started through `nsenter --net=/run/netns/NAME` (see `netns.nsenter_argv`), which
exec()s, so the PID we hold is the PID of the program itself: signals (kill -9, SIGSTOP/SIGCONT)
reach it directly, and `Lab.down` finds it in the namespace by that PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from hapair.lab.errors import CommandFailedError, LabError, LabTimeoutError
from hapair.lab.netns import nsenter_argv


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of a short command run inside a host."""

    host: str
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> Self:
        """Return self if the command succeeded, else raise CommandFailedError with its stderr."""
        if self.returncode != 0:
            raise CommandFailedError(self.host, self.argv, self.returncode, self.stderr or self.stdout)
        return self


def _environment(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


def run_command(
    host: str,
    namespace: str,
    argv: Sequence[str],
    timeout: float,
    *,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run `argv` inside `namespace`, capture its output as text, and kill it after `timeout` s."""
    command = tuple(argv)
    try:
        done = subprocess.run(
            nsenter_argv(namespace, command),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=_environment(env),
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabTimeoutError(f"{host}: {' '.join(command)} did not finish within {timeout} s") from exc
    except OSError as exc:
        raise LabError(f"{host}: cannot run {' '.join(command)}: {exc}") from exc
    return CommandResult(host, command, done.returncode, done.stdout, done.stderr)


def run_interactive(namespace: str, argv: Sequence[str]) -> int:
    """Run `argv` inside `namespace` on the caller's terminal; return its exit code (128+N if killed by N)."""
    try:
        code = subprocess.call(nsenter_argv(namespace, list(argv)))
    except OSError as exc:
        raise LabError(f"cannot run {' '.join(argv)}: {exc}") from exc
    return 128 - code if code < 0 else code


class LabProcess:
    """A long-running process inside a lab host, its output appended to `log_path`.

    Created by `Lab.spawn`. The process runs in its own session (a Ctrl-C meant for a demo does not
    reach it), with stdin from /dev/null and stdout and stderr both in the log file.
    """

    def __init__(
        self,
        host: str,
        namespace: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.host = host
        self.argv = tuple(argv)
        self.log_path = log_path
        try:
            with open(log_path, "ab") as log:
                self._popen = subprocess.Popen(
                    nsenter_argv(namespace, self.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_environment(env),
                    cwd=cwd,
                    start_new_session=True,
                )
        except OSError as exc:
            raise LabError(f"{host}: cannot start {' '.join(self.argv)}: {exc}") from exc
        self.pid: int = self._popen.pid

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<LabProcess {self.host} pid={self.pid} {state}: {' '.join(self.argv)}>"

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal), else None."""
        return self._popen.poll()

    @property
    def running(self) -> bool:
        return self.returncode is None

    def wait(self, timeout: float) -> int:
        """Wait for the process to end; return its exit status or raise LabTimeoutError."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LabTimeoutError(
                f"{self.host}: pid {self.pid} ({self.argv[0]}) still running after {timeout} s"
            ) from None

    def send_signal(self, sig: int) -> None:
        """Send `sig` to the process; nothing happens if it has already ended and been reaped."""
        self._popen.send_signal(sig)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """kill -9 by default (the crash fault); the caller waits if it needs the exit status."""
        self.send_signal(sig)

    def pause(self) -> None:
        """SIGSTOP: the process freezes, sockets open, timers not running (a hung host)."""
        self.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.send_signal(signal.SIGCONT)

    def stop(self, grace: float = 5.0) -> int:
        """End the process politely: SIGCONT + SIGTERM, then SIGKILL after `grace` s; return its status."""
        if self.returncode is not None:
            return self.returncode
        self.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self.send_signal(signal.SIGTERM)
        try:
            return self._popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            return self.wait(5.0)

    def read_log(self) -> str:
        """Everything the process has written so far (stdout and stderr interleaved)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.read_log().splitlines()[-lines:])

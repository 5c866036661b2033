"""Errors the lab raises on purpose; all are `HapairError`s, so the CLI can report them in one place."""

from __future__ import annotations

from hapair.errors import AdapterError, HapairError


class TopologyError(HapairError):
    """A topology description, prefix or host name is invalid; nothing was created."""


class LabError(AdapterError):
    """The operating system refused a lab operation, or the lab is not in the state it needs."""


class LabPermissionError(LabError):
    """The lab needs root (network namespaces, veth pairs, iptables)."""


class UnknownHostError(LabError):
    """A host name that the lab's topology does not have."""

    def __init__(self, host: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown host {host!r}; the lab has {', '.join(known)} (and sw, the switch)")
        self.host = host


class LabTimeoutError(LabError, TimeoutError):
    """A command or a wait did not finish within its timeout."""


class CommandFailedError(LabError):
    """A command run inside a lab host exited non-zero where success was required."""

    def __init__(self, host: str, argv: tuple[str, ...], returncode: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        super().__init__(f"{host}: {' '.join(argv)} exited {returncode}: {detail}")
        self.host = host
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr

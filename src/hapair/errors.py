"""The error hierarchy shared by every part of hapair.

One root, `HapairError`. Configuration problems carry the file and line they come from so every
front end can print them in the words its users know: keepalived's `(FILE: Line N) message` and
drbdadm's `FILE:LINE: message`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class HapairError(Exception):
    """Root of every error hapair raises on purpose."""


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a configuration file; `line` counts from 1, 0 means the whole file."""

    file: str
    line: int

    def keepalived_style(self) -> str:
        return f"({self.file}: Line {self.line})"

    def drbd_style(self) -> str:
        return f"{self.file}:{self.line}"


class ConfigError(HapairError):
    """One configuration mistake at a known place."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.location = SourceLocation(file, line)
        self.message = message

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    def keepalived_style(self) -> str:
        return f"{self.location.keepalived_style()} {self.message}"

    def drbd_style(self) -> str:
        return f"{self.location.drbd_style()}: {self.message}"


class ConfigErrors(HapairError):
    """Every mistake found in one configuration: parsers report all of them, not just the first."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class ProtocolError(HapairError):
    """A protocol rule was broken."""


class LocalProtocolError(ProtocolError):
    """We (or an operator's command) asked a core for something its state does not allow."""


class RemoteProtocolError(ProtocolError):
    """A peer sent something malformed or out of place; the input is dropped and counted."""


class AdapterError(HapairError):
    """The operating system refused an operation an adapter attempted."""

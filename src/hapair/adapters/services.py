"""Starting, stopping and checking the service a resource group runs on the volume.

Either a systemd unit (`systemctl start|stop|is-active UNIT`) or three commands from the
configuration (start, stop, check), run through `/bin/sh -c` as keepalived's users write them.
Every call has a timeout; stopping what is not running, and starting what runs, succeed, so the
orchestrator's undo steps are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from hapair.adapters.filesystems import CommandOutcome, run_command
from hapair.errors import AdapterError


class ServiceError(AdapterError):
    """The service did not start, stop or answer its check in time."""


@dataclass(frozen=True, slots=True)
class ServiceCommands:
    """How to drive one service: a systemd unit, or shell commands."""

    unit: str | None = None
    start: str | None = None
    stop: str | None = None
    check: str | None = None

    def __post_init__(self) -> None:
        if self.unit is None and self.start is None:
            raise ServiceError("a service needs a systemd unit or a start command")


def _shell(command: str) -> list[str]:
    return ["/bin/sh", "-c", command]


async def is_running(service: ServiceCommands, timeout_s: float) -> bool:
    if service.unit is not None:
        outcome = await run_command(["systemctl", "is-active", "--quiet", service.unit], timeout_s)
        return outcome.returncode == 0
    if service.check is None:
        return False
    return (await run_command(_shell(service.check), timeout_s)).returncode == 0


async def start(service: ServiceCommands, timeout_s: float) -> CommandOutcome:
    if service.unit is not None:
        outcome = await run_command(["systemctl", "start", service.unit], timeout_s)
    else:
        assert service.start is not None
        outcome = await run_command(_shell(service.start), timeout_s)
    if outcome.returncode != 0:
        raise ServiceError(f"starting {service.unit or service.start} failed: {outcome.output[-400:]}")
    return outcome


async def stop(service: ServiceCommands, timeout_s: float) -> CommandOutcome | None:
    """Stop the service; None when there was nothing to stop (no stop command and no unit)."""
    if service.unit is not None:
        outcome = await run_command(["systemctl", "stop", service.unit], timeout_s)
    elif service.stop is not None:
        outcome = await run_command(_shell(service.stop), timeout_s)
    else:
        return None
    if outcome.returncode != 0:
        raise ServiceError(f"stopping {service.unit or service.stop} failed: {outcome.output[-400:]}")
    return outcome

"""Mounting, unmounting and checking the replicated filesystem, the way an operator would.

Every operation has a timeout and an idempotent undo: mounting what is already mounted there, or
unmounting what is not mounted, succeeds. There is deliberately no `umount -f` and no lazy
unmount (`-l`), and a mount point is never removed: a busy filesystem is reported as busy, and
the orchestrator decides (stop the holders, by PID, then self-fence if it must).
Holders are found the way fuser -m does: every process whose cwd, root, executable, open files
or memory mappings lie under the mount point.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from hapair.errors import AdapterError

UMOUNT_BUSY_EXIT = 32  # util-linux: "mount failure"; stderr says "target is busy"


class FilesystemError(AdapterError):
    """A mount, unmount or check failed; `busy` when the filesystem is in use."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    returncode: int
    output: str


async def run_command(argv: list[str], timeout_s: float) -> CommandOutcome:
    """Run `argv` with a timeout; output is stdout and stderr together. Timeout kills it (by PID)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise FilesystemError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise FilesystemError(f"{' '.join(argv)} timed out after {timeout_s:g}s") from None
    assert proc.returncode is not None
    return CommandOutcome(proc.returncode, out.decode(errors="replace").strip())


def _unescape(field: str) -> str:
    """/proc/self/mountinfo escapes space, tab, newline and backslash as octal."""
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounted_at(mount_point: str) -> str | None:
    """The source device mounted at `mount_point` in this mount namespace, or None."""
    target = os.path.realpath(mount_point)
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8") as stream:
        for line in stream:
            fields = line.split()
            if len(fields) < 10 or _unescape(fields[4]) != target:
                continue
            dash = fields.index("-")
            found = _unescape(fields[dash + 2])  # the last mount on a path is the visible one
    return found


def _prepare_mount_point(device: str, mount_point: str) -> bool:
    """False if `device` is already mounted there; create the directory if it is missing."""
    current = mounted_at(mount_point)
    if current is not None:
        if os.path.realpath(current) == os.path.realpath(device):
            return False
        raise FilesystemError(f"{mount_point} already has {current} mounted")
    Path(mount_point).mkdir(parents=True, exist_ok=True)
    return True


async def mount(
    device: str, mount_point: str, fstype: str | None, options: tuple[str, ...], timeout_s: float
) -> bool:
    """Mount `device` at `mount_point` (created if missing); False if it was already mounted there."""
    if not await asyncio.to_thread(_prepare_mount_point, device, mount_point):
        return False
    argv = ["mount"]
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    outcome = await run_command([*argv, device, mount_point], timeout_s)
    if outcome.returncode != 0:
        raise FilesystemError(f"mount {device} {mount_point}: {outcome.output or outcome.returncode}")
    return True


async def unmount(mount_point: str, timeout_s: float) -> bool:
    """Unmount (never forced or lazy); False if nothing was mounted. Busy raises busy=True."""
    if mounted_at(mount_point) is None:
        return False
    outcome = await run_command(["umount", mount_point], timeout_s)
    if outcome.returncode == 0:
        return True
    busy = "busy" in outcome.output or outcome.returncode == UMOUNT_BUSY_EXIT
    raise FilesystemError(f"umount {mount_point}: {outcome.output or outcome.returncode}", busy=busy)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _links_of(pid: str) -> list[str]:
    base = f"/proc/{pid}"
    paths = []
    for name in ("cwd", "root", "exe"):
        with contextlib.suppress(OSError):
            paths.append(os.readlink(f"{base}/{name}"))
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"{base}/fd"):
            with contextlib.suppress(OSError):
                paths.append(os.readlink(f"{base}/fd/{fd}"))
    with contextlib.suppress(OSError), open(f"{base}/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                paths.append(parts[5].strip())
    return paths


def holders(mount_point: str) -> list[int]:
    """PIDs of processes using anything under `mount_point` (not this process)."""
    root = os.path.realpath(mount_point)
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        paths = _links_of(entry)
        if any(_under(p.removesuffix(" (deleted)"), root) for p in paths):
            found.append(int(entry))
    return sorted(found)


def signal_holders(mount_point: str, sig: signal.Signals) -> list[int]:
    """Send `sig` to every holder, by PID; returns the PIDs signalled."""
    signalled = []
    for pid in holders(mount_point):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue
        except PermissionError as exc:
            raise FilesystemError(f"cannot signal holder {pid}: {os.strerror(errno.EPERM)}") from exc
        signalled.append(pid)
    return signalled


def default_check_command(device: str, fstype: str | None) -> list[str]:
    """A read-only-safe check: `xfs_repair -n` for XFS (fsck.xfs does nothing), else `fsck -p`."""
    if fstype == "xfs":
        return ["xfs_repair", "-n", device]
    argv = ["fsck", "-p"]
    if fstype:
        argv[1:1] = ["-t", fstype]
    return [*argv, device]


async def check_filesystem(
    device: str, fstype: str | None, command: list[str] | None, timeout_s: float
) -> CommandOutcome:
    """Run the check; exit 0 is clean, fsck's 1 is "errors corrected"; anything else raises."""
    argv = command or default_check_command(device, fstype)
    outcome = await run_command(argv, timeout_s)
    if outcome.returncode not in (0, 1):
        raise FilesystemError(f"{' '.join(argv)} exited {outcome.returncode}: {outcome.output[-400:]}")
    return outcome

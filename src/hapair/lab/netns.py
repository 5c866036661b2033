"""Named network namespaces and the processes inside them, found through /run/netns and /proc.

Namespaces are created with `pyroute2.netns.create`, which does what `ip netns add` does: a
shared bind-mounted /run/netns and one nsfs bind mount per name. `ip netns exec`, `ip -n` and
`nsenter --net=/run/netns/NAME` therefore all work on a lab's hosts.

Processes are found by namespace, not by name: a process is inside namespace N when
/proc/PID/ns/net is the same nsfs inode as /run/netns/N. They are signalled through a pidfd opened
after that check and re-checked once the pidfd is held, so a PID recycled in between is never hit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import netns as pyroute2_netns

from hapair.lab.errors import LabError, LabPermissionError

NETNS_DIR = Path("/run/netns")


@contextlib.contextmanager
def quiet_fork_child() -> Iterator[None]:
    """Around a pyroute2 call that forks a helper child to enter a namespace.

    The child inherits our warning filters; when it drops its copy of the socket it has just passed
    back to us, it would print a ResourceWarning (an error under pytest's filterwarnings) on stderr.
    That socket is in use by us, not leaked, so the child is told to stay quiet.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield


def namespace_path(name: str) -> Path:
    return NETNS_DIR / name


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError, PermissionError, ProcessLookupError):
        return None
    return (st.st_dev, st.st_ino)


def is_mounted_namespace(name: str) -> bool:
    """True when /run/netns/NAME is a live namespace: an nsfs mount, not a leftover empty file."""
    ident = _identity(namespace_path(name))
    base = _identity(NETNS_DIR)
    return ident is not None and base is not None and ident[0] != base[0]


def list_namespaces() -> list[str]:
    """Every name under /run/netns (mounted or not), sorted."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabPermissionError("the lab needs root: network namespaces, veth pairs and iptables")


def create_namespace(name: str) -> bool:
    """Make sure namespace `name` exists; return True if it had to be created.

    A name that exists as a plain file (a run that crashed between creating the file and mounting
    the namespace on it) is removed first.
    """
    if is_mounted_namespace(name):
        return False
    path = namespace_path(name)
    if path.exists():
        path.unlink()
    try:
        with quiet_fork_child():
            pyroute2_netns.create(name)
    except OSError as exc:
        raise LabError(f"cannot create network namespace {name}: {exc}") from exc
    if not is_mounted_namespace(name):
        raise LabError(f"network namespace {name} was not mounted at {path}")
    return True


def remove_namespace(name: str) -> None:
    """Unmount and unlink /run/netns/NAME; the kernel frees it once no process is inside."""
    path = namespace_path(name)
    if not path.exists() and not path.is_symlink():
        return
    try:
        pyroute2_netns.remove(name)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LabError(f"cannot remove network namespace {name}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class NamespaceProcess:
    """A process seen inside a namespace: its PID and its command line at the time it was seen."""

    pid: int
    argv: tuple[str, ...]


def _cmdline(pid: int) -> tuple[str, ...]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def _pid_namespace(pid: int) -> tuple[int, int] | None:
    return _identity(Path(f"/proc/{pid}/ns/net"))


def processes_in(name: str) -> list[NamespaceProcess]:
    """Processes whose network namespace is /run/netns/NAME (thread-group leaders, zombies excluded)."""
    target = _identity(namespace_path(name)) if is_mounted_namespace(name) else None
    if target is None:
        return []
    found: list[NamespaceProcess] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if _pid_namespace(pid) == target:
            found.append(NamespaceProcess(pid, _cmdline(pid)))
    return found


def _open_pidfd(pid: int, expected_ns: tuple[int, int]) -> int | None:
    """A pidfd for `pid` if it is still the process inside the namespace, else None."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    except OSError as exc:
        raise LabError(f"cannot open pid {pid}: {exc}") from exc
    if _pid_namespace(pid) != expected_ns:  # exited, or the PID now names another process
        os.close(fd)
        return None
    return fd


def _wait_pidfds(fds: dict[int, int], timeout: float) -> None:
    """Wait until every pidfd in `fds` (pid -> fd) is readable, i.e. its process exited."""
    deadline = time.monotonic() + timeout
    pending = dict(fds)
    poller = select.poll()
    for fd in pending.values():
        poller.register(fd, select.POLLIN)
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        for fd, _event in poller.poll(remaining * 1000):
            poller.unregister(fd)
            pending = {pid: f for pid, f in pending.items() if f != fd}


def end_processes_in(names: Sequence[str], grace: float = 2.0) -> list[NamespaceProcess]:
    """End every process inside the namespaces `names`: SIGTERM, then SIGKILL after `grace` seconds.

    All namespaces are handled together, so the grace period is paid once. Returns the processes
    that were found. Raises LabError naming any process still alive 5 s after SIGKILL (a process
    stuck in the kernel).
    """
    own = {os.getpid(), os.getppid()}
    victims: list[NamespaceProcess] = []
    fds: dict[int, int] = {}
    try:
        for name in names:
            target = _identity(namespace_path(name)) if is_mounted_namespace(name) else None
            if target is None:
                continue
            for proc in processes_in(name):
                if proc.pid in own:
                    continue
                victims.append(proc)
                fd = _open_pidfd(proc.pid, target)
                if fd is not None:
                    fds[proc.pid] = fd
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            alive = _alive(fds)
            if not alive:
                break
            for fd in alive.values():
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(fd, sig)
            _wait_pidfds(alive, wait)
        survivors = _alive(fds)
        if survivors:
            raise LabError(f"processes {sorted(survivors)} in namespaces {', '.join(names)} survived SIGKILL")
    finally:
        for fd in fds.values():
            os.close(fd)
    return victims


def _alive(fds: dict[int, int]) -> dict[int, int]:
    """The subset of pid -> pidfd whose process has not exited yet."""
    alive: dict[int, int] = {}
    for pid, fd in fds.items():
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(0):
            alive[pid] = fd
    return alive


def signal_pid(pid: int, sig: int) -> None:
    """Send `sig` to `pid`; a process that is already gone is a LabError naming it."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise LabError(f"no process {pid}") from None
    except OSError as exc:
        if exc.errno == errno.EPERM:
            raise LabPermissionError(f"not allowed to signal process {pid}") from exc
        raise LabError(f"cannot signal process {pid}: {exc}") from exc


def nsenter_argv(name: str, argv: tuple[str, ...] | list[str]) -> list[str]:
    """The command line that runs `argv` inside namespace `name`, with the same PID.

    `nsenter --net=FILE` joins only the network namespace and then exec()s: the process keeps the
    PID we see, the root mount namespace (so mounts, FUSE files and loop devices made by one lab
    command are visible to the next, as on a real host), and the caller's terminal. `ip netns exec`
    would instead give every command a private mount namespace with its own /sys.
    """
    if not argv:
        raise LabError("empty command")
    return ["nsenter", f"--net={namespace_path(name)}", "--", *argv]

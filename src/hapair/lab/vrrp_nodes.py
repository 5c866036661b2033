"""VRRP engines on lab hosts: hapair's or the real keepalived, started, observed and crashed alike.

Tests, the demo and the failover benchmark all need the same few things: start an engine with a
keepalived.conf on a host, ask which state an instance is in, crash it (SIGKILL, as `kill -9`), or
power the host off (crash plus its interface down, like the runbook's `poweroff` /
`ifconfig eth1 down`). keepalived runs as a parent and a VRRP child process; a crash kills both, by
PID, child first, so it cannot send the priority-0 advert a graceful stop would send.

hapair's state comes from its JSON state file; keepalived's from the last "Entering ... STATE" line
of its log, which is what an operator reads too.
"""

from __future__ import annotations

import contextlib
import enum
import json
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hapair.lab.lab import Lab
from hapair.lab.processes import LabProcess

_STATE_LINE = re.compile(r"\((?P<inst>[^)]+)\) Entering (?P<state>MASTER|BACKUP|FAULT) STATE")
_STATE_NUMBERS = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 98: "STOP"}


class Engine(enum.Enum):
    HAPAIR = "hapair"
    KEEPALIVED = "keepalived"


@dataclass
class VrrpEngineProcess:
    """One VRRP engine running on one lab host."""

    lab: Lab
    host: str
    engine: Engine
    config: Path
    workdir: Path
    process: LabProcess
    extra_pids: list[int] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    @property
    def state_file(self) -> Path:
        return self.workdir / f"{self.host}.vrrp.json"

    @property
    def child_pidfile(self) -> Path:
        return self.workdir / f"{self.host}.keepalived_vrrp.pid"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def state(self, instance: str = "VI_1") -> str | None:
        """MASTER, BACKUP, FAULT, ... or None while unknown (not started, or not running)."""
        if not self.process.running:
            return None
        if self.engine is Engine.HAPAIR:
            try:
                document = json.loads(self.state_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            for entry in document.get("instances", []):
                if entry["data"]["iname"] == instance:
                    return _STATE_NUMBERS.get(int(entry["data"]["state"]))
            return None
        last = None
        for match in _STATE_LINE.finditer(self.log_text()):
            if match.group("inst") == instance:
                last = match.group("state")
        return last

    def pids(self) -> list[int]:
        pids = [self.process.pid]
        if self.engine is Engine.KEEPALIVED:
            with contextlib.suppress(OSError, ValueError):
                pids.insert(0, int(self.child_pidfile.read_text().strip()))
        return pids

    def crash(self) -> None:
        """kill -9 of every process of the engine, the VRRP child first."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                self.lab.kill(pid, signal.SIGKILL)
        self.process.wait(5.0)

    def stop(self, grace: float = 5.0) -> int:
        """A graceful stop (SIGTERM): the master sends its priority-0 advert."""
        return self.process.stop(grace)

    def freeze(self) -> None:
        for pid in self.pids():
            self.lab.pause(pid)

    def thaw(self) -> None:
        for pid in self.pids():
            self.lab.resume(pid)


def start_engine(
    lab: Lab,
    host: str,
    engine: Engine,
    config: Path,
    workdir: Path,
    *,
    detailed: bool = True,
) -> VrrpEngineProcess:
    """Start `engine` on `host` with `config` in the foreground, logging to the console."""
    workdir.mkdir(parents=True, exist_ok=True)
    state_file = workdir / f"{host}.vrrp.json"
    child_pidfile = workdir / f"{host}.keepalived_vrrp.pid"
    if engine is Engine.HAPAIR:
        argv = [sys.executable, "-m", "hapair", "vrrp", "-f", str(config), "-n", "-l"]
        argv += ["--state-file", str(state_file)]
    else:
        argv = ["keepalived", "-n", "-l", "-G", "-P", "-f", str(config)]
        argv += ["-p", str(workdir / f"{host}.keepalived.pid"), "-r", str(child_pidfile)]
        argv += ["-c", str(workdir / f"{host}.checkers.pid"), "-b", str(workdir / f"{host}.bfd.pid")]
    if detailed:
        argv.append("-D")
    state_file.unlink(missing_ok=True)
    child_pidfile.unlink(missing_ok=True)
    run = 1
    while (log_path := workdir / f"{host}.{engine.value}.{run}.log").exists():
        run += 1  # a fresh log per start: state is read from the newest lines only
    process = lab.spawn(host, argv, log_path)
    return VrrpEngineProcess(lab, host, engine, config, workdir, process)


def pair_config(
    *,
    node: int,
    version: int = 2,
    advert_int: str = "1",
    auth_pass: str | None = "1111",
    interface: str = "eth1",
    vip: str = "10.30.31.171",
    vrid: int = 51,
) -> str:
    """A keepalived.conf shaped like the runbook's: node1 BACKUP/100/nopreempt, node2 MASTER/90.

    VRRPv3 has no authentication, so `auth_pass` is left out for version 3.
    """
    lines = [f"global_defs {{\n    vrrp_version {version}\n}}", "vrrp_instance VI_1 {"]
    if node == 1:
        lines += ["    state BACKUP", "    priority 100", "    nopreempt"]
    else:
        lines += ["    state MASTER", "    priority 90"]
    lines += [
        f"    interface {interface}",
        f"    virtual_router_id {vrid}",
        f"    advert_int {advert_int}",
    ]
    if auth_pass is not None and version == 2:
        lines += ["    authentication {", "        auth_type PASS", f"        auth_pass {auth_pass}", "    }"]
    lines += ["    virtual_ipaddress {", f"        {vip} dev {interface}", "    }", "}", ""]
    return "\n".join(lines)

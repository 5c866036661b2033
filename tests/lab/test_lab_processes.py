"""Commands and processes inside lab hosts: exit codes, timeouts, spawn, signals by PID, logs."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from hapair.lab import (
    SWITCH,
    CommandFailedError,
    Lab,
    LabError,
    LabProcess,
    LabTimeoutError,
    UnknownHostError,
)
from hapair.lab.netns import namespace_path
from labkit import wait_for

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.timeout(120)]


def proc_state(pid: int) -> str:
    """The one-letter state from /proc/PID/stat (R, S, T, Z, ...); '' once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def running(proc: LabProcess) -> bool:
    """`proc.running`, read through a call so the type checker does not carry an earlier answer over."""
    return proc.running


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def test_run_captures_output_and_passes_exit_codes(module_lab: Lab) -> None:
    lab = module_lab
    result = lab.run("node2", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok
    with pytest.raises(CommandFailedError, match="exited 3: err"):
        result.check()
    assert lab.run("node2", ["cat"], stdin="fed in").stdout == "fed in"
    assert lab.run("node2", ["sh", "-c", "echo $LABVAR"], env={"LABVAR": "x1"}).stdout == "x1\n"


def test_run_happens_inside_the_host_namespace(module_lab: Lab) -> None:
    lab = module_lab
    inside = lab.run("node1", ["stat", "-L", "-c", "%d:%i", "/proc/self/ns/net"], check=True).stdout.strip()
    st = os.stat(namespace_path(lab.namespace("node1")))
    assert inside == f"{st.st_dev}:{st.st_ino}"
    addresses = lab.run("node1", ["ip", "-4", "-o", "addr"], check=True).stdout
    assert "10.30.31.168/27" in addresses and "10.30.31.170" not in addresses


def test_run_timeout_kills_the_command(module_lab: Lab) -> None:
    lab = module_lab
    with pytest.raises(LabTimeoutError, match=r"did not finish within 0\.3 s"):
        lab.run("client", ["sleep", "30"], timeout=0.3)
    assert not any(p.argv[:2] == ("sleep", "30") for p in lab.processes_in("client"))


def test_unknown_host_and_missing_program(module_lab: Lab) -> None:
    with pytest.raises(UnknownHostError, match="node1, node2, client"):
        module_lab.run("node3", ["true"])
    missing = module_lab.run("node1", ["/nonexistent/program"])
    assert missing.returncode != 0 and "nonexistent" in missing.stderr


def test_spawn_gives_the_programs_own_pid_and_a_log(module_lab: Lab, tmp_path: Path) -> None:
    lab = module_lab
    log = tmp_path / "talker.log"
    proc = lab.spawn("node1", ["sh", "-c", "echo started; echo to-stderr >&2; exec sleep 60"], log)
    try:
        wait_for(lambda: comm(proc.pid) == "sleep", 5, "the spawned shell to exec sleep")
        assert running(proc) and proc.returncode is None
        assert proc.pid in {p.pid for p in lab.processes_in("node1")}
        assert proc in lab.spawned
        status = lab.status()
        (node1,) = (h for h in status.hosts if h.name == "node1")
        assert [(p.pid, p.log_path) for p in node1.processes] == [(proc.pid, str(log))]
        assert proc.read_log() == "started\nto-stderr\n"
        assert proc.log_tail(1) == "to-stderr"
        with pytest.raises(LabTimeoutError, match="still running"):
            proc.wait(0.05)
        lab.kill(proc.pid)  # kill -9 by PID
        assert proc.wait(5) == -signal.SIGKILL
        assert not running(proc)
        proc.kill()  # a reaped process: nothing happens
    finally:
        proc.stop()


def test_pause_and_resume_by_pid(module_lab: Lab, tmp_path: Path) -> None:
    lab = module_lab
    ticker = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.01)\n"
    proc = lab.spawn("node2", [sys.executable, "-c", ticker], tmp_path / "ticker.log")
    try:
        wait_for(lambda: proc.read_log().count("tick") >= 2, 10, "the ticker to tick")
        lab.pause(proc.pid)
        wait_for(lambda: proc_state(proc.pid) == "T", 5, "the ticker to stop")
        lab.resume(proc.pid)
        wait_for(lambda: proc_state(proc.pid) in ("S", "R"), 5, "the ticker to run again")
        ticks = proc.read_log().count("tick")
        wait_for(lambda: proc.read_log().count("tick") > ticks, 5, "ticks after SIGCONT")
        proc.pause()
        wait_for(lambda: proc_state(proc.pid) == "T", 5, "the ticker to stop again")
        assert proc.stop(grace=5) == -signal.SIGTERM  # stop() continues a paused process first
    finally:
        proc.stop()


def test_stop_escalates_to_sigkill(module_lab: Lab, tmp_path: Path) -> None:
    proc = module_lab.spawn(
        "client", ["sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait"], tmp_path / "stubborn.log"
    )
    wait_for(lambda: "ready" in proc.read_log(), 5, "the stubborn shell to start")
    assert proc.stop(grace=0.2) == -signal.SIGKILL


def test_signalling_a_gone_pid_is_an_error(module_lab: Lab, tmp_path: Path) -> None:
    proc = module_lab.spawn("client", ["true"], tmp_path / "true.log")
    assert proc.wait(5) == 0
    with pytest.raises(LabError, match=f"no process {proc.pid}"):
        module_lab.kill(proc.pid)


def test_spawn_needs_the_host_namespace(tmp_path: Path) -> None:
    lab = Lab(prefix="tneverbuilt")
    with pytest.raises(LabError, match="bring the lab up first"):
        lab.spawn("node1", ["true"], tmp_path / "x.log")
    with pytest.raises(LabError, match="has no namespace tneverbuilt-client"):
        lab.run("client", ["true"])


def test_a_capture_on_the_switch_sees_the_segment(module_lab: Lab, tmp_path: Path) -> None:
    lab = module_lab
    assert {link.name for link in lab.links(SWITCH)} >= {"br0", "sw-node1", "sw-node2", "sw-client"}
    capture = lab.spawn(SWITCH, ["tcpdump", "-l", "-n", "-i", "br0", "-c", "1", "icmp"], tmp_path / "br0.log")
    try:
        wait_for(lambda: "listening on br0" in capture.read_log(), 10, "tcpdump to listen on br0")
        assert lab.ping("client", "node1")
        assert capture.wait(10) == 0
        assert "10.30.31.172 > 10.30.31.168: ICMP echo request" in capture.read_log()
    finally:
        capture.stop()

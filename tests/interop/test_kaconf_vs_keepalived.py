"""The real keepalived 2.2.7 as the oracle for hapair's keepalived.conf check.

For every configuration of the corpus (the runbook's files, the research evidence configs, and
hapair's edge cases in tests/data/keepalived/interop), `keepalived -t -f FILE` runs in a private
network namespace that has the interfaces the configs name (eth0, eth1, vA, vB as veth pairs),
and `hapair.config.keepalived.check_config` reads the same file with the same interface names.
They must agree on accept/reject, and every message keepalived prints must be among hapair's
diagnostics, word for word, on the same line where keepalived names one.

Deliberate disagreements (see `DELIBERATE` and the docstrings of hapair.config.keepalived):
* a missing include or configuration file is an error for hapair; keepalived logs it, exits 0;
* keepalived stops reading at a missing parameter (exit 2) and at the first instance it cannot
  complete; hapair reports everything, so hapair may print more messages, never fewer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.adapters.config_files import FileSystemSources, script_is_runnable
from hapair.config.keepalived import (
    AddressFamily,
    AuthType,
    Severity,
    VrrpInstance,
    check_config,
    config_test_exit_code,
)

pytestmark = [pytest.mark.interop, pytest.mark.root]

DATA = Path(__file__).resolve().parents[1] / "data" / "keepalived"
CORPUS = sorted(
    [*DATA.glob("*.conf"), *(DATA / "interop").glob("*.conf"), *(DATA / "interop/evidence").glob("*.conf")]
)
# keepalived's own sample configurations, as the Debian package installs them (read in place)
SAMPLES = sorted(Path("/usr/share/doc/keepalived/samples").glob("keepalived.conf.*"))
INTERFACES = ("eth0", "eth1", "vA", "vB")
KNOWN = frozenset([*INTERFACES, *(f"{name}p" for name in INTERFACES), "lo"])
PREFIX = re.compile(r"^\((?:(?P<file>[^()]*): Line (?P<line>\d+)|Line (?P<line2>\d+))\) (?P<message>.*)$")
CONFIG_ID = re.compile(r"hapair-test: config-id=(\S+)")

# file -> why hapair and keepalived disagree on accept/reject
DELIBERATE = {
    "grammar_include_missing.conf": "a missing include file is an error for hapair; keepalived only logs it",
}
# samples whose messages come from sections hapair accepts but does not use, hence not validate
NOT_VALIDATED = {
    "keepalived.conf.fwmark": "virtual_server",
    "keepalived.conf.track_interface": "virtual_routes",
    "keepalived.conf.vrrp.routes": "virtual_routes",
    "keepalived.conf.vrrp.rules": "virtual_rules",
    "keepalived.conf.vrrp.static_ipaddress": "static_ipaddress and static_routes",
}

Message = tuple[int | None, str]


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    if shutil.which("keepalived") is None:
        pytest.skip("keepalived is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    name = f"hapair-kaconf-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for interface in INTERFACES:
            run_in(name, ["ip", "link", "add", interface, "type", "veth", "peer", "name", f"{interface}p"])
            run_in(name, ["ip", "link", "set", interface, "up"])
            run_in(name, ["ip", "link", "set", f"{interface}p", "up"])
        run_in(name, ["ip", "link", "set", "lo", "up"])
        run_in(name, ["ip", "addr", "add", "10.30.31.168/27", "dev", "eth1"])
        run_in(name, ["ip", "addr", "add", "10.0.0.1/24", "dev", "vA"])
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def run_in(namespace: str, command: list[str]) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *command], check=True, capture_output=True, timeout=30)


def keepalived_test(namespace: str, path: Path, config_id: str | None) -> tuple[int, list[Message]]:
    """keepalived -t's exit code and its distinct messages (it prints each once per process)."""
    command = ["ip", "netns", "exec", namespace, "keepalived", "-t", "-f", path.name]
    if config_id:
        command += ["-i", config_id]
    done = subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=30, check=False)
    found: list[Message] = []
    for text in done.stderr.splitlines():
        match = PREFIX.match(text)
        item: Message = (None, text)
        if match:
            item = (int(match.group("line") or match.group("line2")), match.group("message"))
        if item not in found:
            found.append(item)
    return done.returncode, found


class RelativeSources(FileSystemSources):
    """Reads paths relative to one directory, as keepalived run in that directory does."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def read(self, path: str) -> str:
        return super().read(str(self.base / path))

    def glob(self, pattern: str) -> list[str]:
        return [os.path.relpath(match, self.base) for match in super().glob(str(self.base / pattern))]


def hapair_test(path: Path, config_id: str | None) -> tuple[int, list[Message]]:
    def runnable(program: str) -> bool:
        relative = "/" in program and not program.startswith("/")
        return script_is_runnable(str(path.parent / program) if relative else program)

    _, diagnostics = check_config(
        path.name, RelativeSources(path.parent), config_id, known_interfaces=KNOWN, script_check=runnable
    )
    messages = [
        (d.location.line if d.location else None, d.message)
        for d in diagnostics
        if d.severity is not Severity.NOTE
    ]
    return config_test_exit_code(diagnostics), messages


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(DATA)) for p in CORPUS])
def test_hapair_agrees_with_keepalived(namespace: str, path: Path) -> None:
    match = CONFIG_ID.search(path.read_text(encoding="utf-8"))
    config_id = match.group(1) if match else None
    keepalived_rc, keepalived_messages = keepalived_test(namespace, path, config_id)
    hapair_rc, hapair_messages = hapair_test(path, config_id)
    if path.name in DELIBERATE:
        assert (keepalived_rc == 0) != (hapair_rc == 0), DELIBERATE[path.name]
    else:
        assert (keepalived_rc == 0) == (hapair_rc == 0), (keepalived_messages, hapair_messages)
    hapair_texts = {text for _, text in hapair_messages}
    missing = [
        (line, text)
        for line, text in keepalived_messages
        if ((line, text) not in hapair_messages if line is not None else text not in hapair_texts)
    ]
    assert missing == [], f"keepalived printed messages hapair did not: {missing}"


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_keepalived_sample_configurations(namespace: str, path: Path) -> None:
    keepalived_rc, keepalived_messages = keepalived_test(namespace, path, None)
    hapair_rc, hapair_messages = hapair_test(path, None)
    if path.name in NOT_VALIDATED:
        assert hapair_rc == 0 or keepalived_rc != 0, NOT_VALIDATED[path.name]
        return
    assert (keepalived_rc == 0) == (hapair_rc == 0), (keepalived_messages, hapair_messages)
    assert {m for m in keepalived_messages if m[0] is not None} <= set(hapair_messages)


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 80
    assert any(p.name == "keepalived-with-notify.conf" for p in CORPUS)


def test_missing_configuration_file_quirk(namespace: str, tmp_path: Path) -> None:
    """keepalived -t exits 0 for a file that does not exist; hapair refuses it (FATAL)."""
    keepalived_rc, _ = keepalived_test(namespace, tmp_path / "nope.conf", None)
    assert keepalived_rc == 0
    hapair_rc, hapair_messages = hapair_test(tmp_path / "nope.conf", None)
    assert hapair_rc == 3
    assert hapair_messages == [(None, "Config files missing 'nope.conf'.")]


# -- values: hapair's model against keepalived's own dump (`keepalived -d`) ---------------------

DUMPED = [
    DATA / "keepalived-node1.conf",
    DATA / "keepalived-node2.conf",
    DATA / "keepalived-with-notify.conf",
    DATA / "interop/good_full.conf",
    DATA / "interop/good_v3.conf",
    DATA / "interop/grammar_multiline_seq.conf",
    DATA / "interop/grammar_include_expanded.conf",
    DATA / "interop/grammar_seq.conf",
    DATA / "interop/warn_v2_rounding2.conf",
    DATA / "interop/warn_v3_rounding.conf",
    DATA / "interop/warn_master_default_prio.conf",
    DATA / "interop/warn_auth_truncate.conf",
    DATA / "interop/owner_weights.conf",
    DATA / "interop/evidence/gram.conf",
]
DUMP_LINE = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]+ [0-9:]+ [0-9]+: (.*)$")
LIST_HEADER = re.compile(
    r"^(Virtual IP Excluded|Virtual IP|Tracked interfaces|Tracked scripts|Unicast Peer)\b"
)


def keepalived_dump(namespace: str, path: Path, config_id: str | None, run_dir: Path) -> list[str]:
    """The `VRRP Topology` lines keepalived logs at startup with -d (it is stopped right after)."""
    # `timeout` bounds the run even if keepalived never prints its dump
    command = ["ip", "netns", "exec", namespace, "timeout", "20", "keepalived", "-n", "-l", "-P", "-d", "-G"]
    command += ["-f", path.name]
    for flag, name in (("-p", "main.pid"), ("-r", "vrrp.pid"), ("-c", "check.pid"), ("-b", "bfd.pid")):
        command += [flag, str(run_dir / name)]
    if config_id:
        command += ["-i", config_id]
    process = subprocess.Popen(
        command, cwd=path.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            match = DUMP_LINE.match(raw.rstrip("\n"))
            text = match.group(1) if match else raw.rstrip("\n")
            lines.append(text)
            if text.startswith(("------< Interfaces", "Stopped Keepalived")) or len(lines) > 5000:
                break
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    start = lines.index("------< VRRP Topology >------")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("------<"))
    return lines[start + 1 : end]


def parse_topology(lines: list[str]) -> dict[str, dict[str, object]]:
    """keepalived's topology dump as {instance: {field: value or [list entries]}}."""
    instances: dict[str, dict[str, object]] = {}
    current: dict[str, object] = {}
    collecting: list[str] | None = None
    for line in lines:
        if line.startswith(" VRRP Instance = "):
            current = {}
            instances[line.split(" = ", 1)[1]] = current
            collecting = None
        elif line.startswith("     ") and collecting is not None:
            collecting.append(line.strip())
        else:
            key, _, value = line.strip().partition(" = ")
            header = LIST_HEADER.match(key)
            if header is not None and (value == "" or key.endswith(":")):
                collecting = []
                current[header.group(1)] = collecting
            else:
                collecting = None
                current[key] = value
    return instances


def keepalived_view(instance: VrrpInstance) -> dict[str, object]:
    """The fields of keepalived's dump, computed from hapair's model."""
    if instance.version == 2:
        advert = f"{instance.advert_int_us // 1_000_000} sec"
    else:
        advert = f"{instance.advert_int_us // 1000} milli-sec"
    view: dict[str, object] = {
        "VRRP Version": str(instance.version),
        "Wantstate": instance.initial_state.value,
        "Interface": instance.interface,
        "Gratuitous ARP delay": str(instance.garp_master_delay_s),
        "Gratuitous ARP repeat": str(instance.garp_master_repeat),
        "Gratuitous ARP refresh": str(instance.garp_master_refresh_s),
        "Gratuitous ARP refresh repeat": str(instance.garp_master_refresh_repeat),
        "Gratuitous ARP lower priority delay": str(instance.garp_lower_prio_delay_s),
        "Gratuitous ARP lower priority repeat": str(instance.garp_lower_prio_repeat),
        "Down timer adverts": str(instance.down_timer_adverts),
        "Send advert after receive lower priority advert": str(not instance.lower_prio_no_advert).lower(),
        "Send advert after receive higher priority advert": str(instance.higher_prio_send_advert).lower(),
        "Virtual Router ID": str(instance.virtual_router_id),
        "Priority": str(instance.priority),
        "Advert interval": advert,
        "Accept": "enabled" if instance.accept else "disabled",
        "Preempt": "disabled" if instance.nopreempt else "enabled",
    }
    if instance.version == 2:
        auth_type = instance.authentication.auth_type if instance.authentication else None
        view["Authentication type"] = {
            None: "none",
            AuthType.PASS: "SIMPLE_PASSWORD",
            AuthType.AH: "IPSEC_AH",
        }[auth_type]
    if instance.authentication is not None and instance.authentication.auth_type is AuthType.PASS:
        view["Password"] = instance.authentication.password.decode()
    if instance.preempt_delay_us:
        view["Preempt delay"] = f"{instance.preempt_delay_us / 1_000_000:g} secs"
    if instance.family is AddressFamily.IPV4:
        view["Virtual IP"] = [v.describe(instance.interface) for v in instance.virtual_addresses]
    for name, items in (
        ("Tracked interfaces", instance.track_interfaces),
        ("Tracked scripts", instance.track_scripts),
    ):
        if items:
            view[name] = [f"{t.name} weight {t.weight}{' reverse' if t.reverse else ''}" for t in items]
    if instance.unicast_peers:
        view["Unicast Peer"] = [
            f"{p.address} min_ttl {p.min_ttl} max_ttl {p.max_ttl}" for p in instance.unicast_peers
        ]
    return view


@pytest.mark.slow
@pytest.mark.parametrize("path", DUMPED, ids=[str(p.relative_to(DATA)) for p in DUMPED])
def test_model_values_match_keepalived_dump(namespace: str, path: Path, tmp_path: Path) -> None:
    match = CONFIG_ID.search(path.read_text(encoding="utf-8"))
    config_id = match.group(1) if match else None
    dumped = parse_topology(keepalived_dump(namespace, path, config_id, tmp_path))
    config, _ = check_config(path.name, RelativeSources(path.parent), config_id, known_interfaces=KNOWN)
    assert config is not None
    assert sorted(dumped) == sorted(i.name for i in config.instances)
    for instance in config.instances:
        expected = keepalived_view(instance)
        actual = {key: dumped[instance.name].get(key) for key in expected}
        assert actual == expected, instance.name

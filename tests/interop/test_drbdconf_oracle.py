"""drbd-utils 9.22 as the oracle for hapair's DRBD configuration parser.

For every configuration of the corpus (tests/data/drbd/corpus.toml) this test runs the real
``drbdadm`` (DRBD 9 grammar) and ``/usr/lib/drbd/drbdadm-84`` (DRBD 8.4 grammar), which parse
without the kernel module, and checks three things:

1. ``drbdadm dump`` parsed back by hapair has the same normalized form as the original: every
   option both understand has the same value, after legacy mapping and inheritance;
2. for every host, what ``drbdadm -d up all`` would configure (``drbdsetup new-resource``,
   ``new-minor``, ``new-peer``, ``new-path``, ``peer-device-options``, ``attach``, ``connect``)
   equals hapair's `NodeView` of that host, option for option, with defaults filled in;
3. for DRBD 9, hapair's dump text equals drbdadm's, line for line (comment lines aside), except the
   lines the corpus lists as dropped by drbdadm.

Bad configurations must be refused by hapair at the listed line, and by each drbdadm as the corpus
says (the line it reports, or "accepts" for a documented, deliberate difference).

Hostnames are faked with ``__DRBD_NODE__`` as drbd-utils' own tests do; a host name that matches no
section makes ``dump`` skip the "IP not found on this host" check.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import DrbdConfig, HostKind, NodeView, dump_config, load_resources, normalized_form
from hapair.config.drbd.model import NOWHERE, MetaDiskKind, OptionValue
from hapair.config.drbd.options import (
    DISK_OPTIONS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    OptionSpec,
    check_value,
)
from hapair.config.drbd.typed import (
    DiskOptions,
    NetOptions,
    PeerDeviceOptions,
    ResourceOptions,
    disk_options,
    net_options,
    peer_device_options,
    resource_options,
)
from hapair.errors import ConfigErrors

DATA = Path(__file__).resolve().parents[1] / "data" / "drbd"
CORPUS: dict[str, Any] = tomllib.loads((DATA / "corpus.toml").read_text(encoding="utf-8"))
DRBDADM = {"9": "drbdadm", "8.4": "/usr/lib/drbd/drbdadm-84"}
NO_HOST = "hapair-oracle-no-such-host"

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("drbdadm") is None or not Path(DRBDADM["8.4"]).exists(),
        reason="drbd-utils (drbdadm, drbdadm-84) is not installed",
    ),
]

GOOD = [(entry["path"], flavor) for entry in CORPUS["good"] for flavor in entry["drbdadm"]]
GOOD_9 = [entry for entry in CORPUS["good"] if "9" in entry["drbdadm"]]


def drbdadm(flavor: str, config: Path, *args: str, node: str = NO_HOST) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "__DRBD_NODE__": node,
        "LANG": "C",
    }
    return subprocess.run(
        [DRBDADM[flavor], "-c", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def load(path: Path) -> DrbdConfig:
    return load_resources(str(path), LocalFileReader())


def first_error_line(stderr: str) -> int | None:
    for line in stderr.splitlines():
        match = re.match(r"^\S+?:(\d+): ", line)
        if match:
            return int(match.group(1))
    return None


def without_dropped(form: dict[str, Any], flavor: str) -> dict[str, Any]:
    """Leave out what a drbdadm dump loses. drbdadm 9 reads `become-primary-on` and throws it away.
    Without a terminal, both drop a `resync-after` that names a resource not on this host (the
    `-d up` check below sees it, as a minor number). drbdadm-84's dump also omits the `disk { }`
    options of volume sections (its `-d up` applies them; test_node_views_match_drbdadm_up checks)."""
    for resource in form["resources"].values():
        resource["disk"].pop("resync-after", None)
        for host in resource["hosts"].values():
            for volume in host["volumes"].values():
                volume["disk-options"].pop("resync-after", None)
                if flavor == "8.4":
                    volume.pop("disk-options")
                    volume.pop("peer-device-options")
        if flavor == "9":
            resource["startup"].pop("become-primary-on", None)
        else:
            for connection in resource["connections"]:
                connection.pop("peer-devices")
    return form


@pytest.mark.parametrize(("path", "flavor"), GOOD, ids=[f"{p}-{f}" for p, f in GOOD])
def test_dump_of_drbdadm_has_the_same_normalized_form(path: str, flavor: str, tmp_path: Path) -> None:
    original = load(DATA / path)
    result = drbdadm(flavor, DATA / path, "dump")
    assert result.returncode == 0, result.stderr
    dumped = tmp_path / "dumped.conf"
    dumped.write_text(result.stdout, encoding="utf-8")
    reparsed = load(dumped)
    assert without_dropped(normalized_form(reparsed), flavor) == without_dropped(
        normalized_form(original), flavor
    )


@pytest.mark.parametrize("entry", GOOD_9, ids=[e["path"] for e in GOOD_9])
def test_dump_text_is_drbdadm_9s(entry: dict[str, Any]) -> None:
    path = DATA / entry["path"]
    result = drbdadm("9", path, "dump")
    assert result.returncode == 0, result.stderr
    theirs = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    ours = [line for line in dump_config(load(path)).splitlines() if not line.startswith("#")]
    extra = set(entry.get("dump_extra", []))
    assert [line for line in ours if line.strip() not in extra] == theirs


OUR_DUMP_READABLE = [e["path"] for e in CORPUS["good"] if e.get("drbdadm_9_reads_our_dump", True)]


@pytest.mark.parametrize("path", OUR_DUMP_READABLE)
def test_drbdadm_9_reads_hapairs_dump(path: str, tmp_path: Path) -> None:
    """hapair's dump turns 8.4 configurations (the runbook's) into ones DRBD 9's drbdadm reads."""
    original = load(DATA / path)
    ours = tmp_path / "ours.conf"
    ours.write_text(dump_config(original), encoding="utf-8")
    result = drbdadm("9", ours, "dump")
    assert result.returncode == 0, result.stderr
    theirs = tmp_path / "theirs.conf"
    theirs.write_text(result.stdout, encoding="utf-8")
    assert without_dropped(normalized_form(load(theirs)), "9") == without_dropped(
        normalized_form(original), "9"
    )


# --- drbdadm -d up: what drbdsetup would be told --------------------------------------------------


@dataclass
class SetupVolume:
    minor: int
    diskless: bool = False
    attach: tuple[str, str, str] | None = None  # disk, meta device, meta index
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class SetupPeer:
    paths: list[tuple[str, str]] = field(default_factory=list)
    net: dict[str, str] = field(default_factory=dict)
    devices: dict[int, dict[str, str]] = field(default_factory=dict)


@dataclass
class SetupResource:
    node_id: int | None = None
    options: dict[str, str] = field(default_factory=dict)
    volumes: dict[int, SetupVolume] = field(default_factory=dict)
    peers: dict[int, SetupPeer] = field(default_factory=dict)


def split_options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    args: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        if word.startswith("--"):
            name, _, value = word[2:].partition("=")
            options[name] = value
        else:
            args.append(word)
    return args, options


def parse_setup(text: str, flavor: str) -> dict[str, SetupResource]:
    """The drbdsetup calls printed by `drbdadm -d up all`, grouped by resource."""
    resources: dict[str, SetupResource] = {}
    by_minor: dict[int, SetupVolume] = {}
    pending_attach: list[tuple[list[str], dict[str, str]]] = []
    for line in text.splitlines():
        words = shlex.split(line)
        if not words or not os.path.basename(words[0]).startswith("drbdsetup"):
            continue
        args, options = split_options(words[2:])
        command = words[1]
        if command == "attach":
            pending_attach.append((args, options))
            continue
        resource = resources.setdefault(args[0], SetupResource())
        if command == "new-resource":
            resource.options = options
            resource.node_id = int(args[1]) if len(args) > 1 else None
        elif command == "new-minor":
            volume = SetupVolume(
                int(args[1]), diskless=options.get("diskless") == "yes" or "diskless" in options
            )
            resource.volumes[int(args[2])] = volume
            by_minor[volume.minor] = volume
        elif command == "new-peer":
            options.pop("_name", None)
            resource.peers.setdefault(int(args[1]), SetupPeer()).net = options
        elif command == "new-path":
            resource.peers.setdefault(int(args[1]), SetupPeer()).paths.append((args[2], args[3]))
        elif command == "peer-device-options":
            resource.peers.setdefault(int(args[1]), SetupPeer()).devices[int(args[2])] = options
        elif command == "connect" and flavor == "8.4":
            peer = resource.peers.setdefault(0, SetupPeer())
            peer.paths.append((args[1], args[2]))
            peer.net = options
    for args, options in pending_attach:
        volume = by_minor[int(args[0])]
        volume.attach = (args[1], args[2], args[3])
        volume.options = options
    return resources


def typed_values(options: Mapping[str, str], *tables: Mapping[str, OptionSpec]) -> dict[str, OptionValue]:
    out: dict[str, OptionValue] = {}
    for name, text in options.items():
        spec = next(t[name] for t in tables if name in t)
        value, why = check_value(spec, text)
        assert value is not None, f"{name}={text}: {why}"
        out[name] = OptionValue(name, text, value, NOWHERE)
    return out


@dataclass(frozen=True)
class Comparable:
    """What both sides agree on, for one resource on one node."""

    node_id: int | None
    options: ResourceOptions
    volumes: dict[int, tuple[int, str | None, str | None, str | None, DiskOptions]]
    peers: dict[int, tuple[list[tuple[str, str]], NetOptions, dict[int, PeerDeviceOptions]]]


def from_setup(resource: SetupResource, flavor: str) -> Comparable:
    volumes = {}
    moved_net: dict[str, str] = {}
    moved_pd: dict[int, dict[str, str]] = {}
    for vnr, volume in resource.volumes.items():
        options = dict(volume.options)
        if flavor == "8.4":  # drbdsetup-84 takes fencing and the resync options at attach
            if "fencing" in options:
                moved_net["fencing"] = options.pop("fencing")
            moved_pd[vnr] = {k: options.pop(k) for k in list(options) if k in PEER_DEVICE_OPTIONS}
        after = int(options.pop("resync-after", "-1"))
        disk, meta, index = volume.attach if volume.attach else (None, None, None)
        volumes[vnr] = (
            volume.minor,
            disk,
            meta,
            index,
            disk_options(typed_values(options, DISK_OPTIONS), after),
        )
    peers = {}
    for peer_id, peer in resource.peers.items():
        net = net_options(typed_values({**peer.net, **moved_net}, NET_OPTIONS))
        devices = {**moved_pd, **peer.devices}
        per_volume = {
            vnr: peer_device_options(typed_values(devices.get(vnr, {}), PEER_DEVICE_OPTIONS))
            for vnr in resource.volumes
        }
        peers[peer_id] = (sorted(peer.paths), net, per_volume)
    return Comparable(
        node_id=resource.node_id if flavor == "9" else None,
        options=resource_options(typed_values(resource.options, RESOURCE_OPTIONS)),
        volumes=volumes,
        peers=peers,
    )


def from_view(view: NodeView, flavor: str) -> Comparable:
    volumes = {}
    for v in view.volumes:
        if v.disk is None or v.meta_disk is None:
            attach: tuple[str | None, str | None, str | None] = (None, None, None)
        elif v.meta_disk.kind is MetaDiskKind.INTERNAL:
            attach = (v.disk, v.disk, "internal")
        else:
            attach = (v.disk, v.meta_disk.device, v.meta_disk.index_text())
        volumes[v.number] = (v.minor, *attach, v.options)
    peers = {}
    for peer in view.peers:
        key = peer.node_id if flavor == "9" else 0
        paths = sorted((a.setup_text(), b.setup_text()) for a, b in peer.paths)
        peers[key] = (paths, peer.net, {pv.number: pv.options for pv in peer.volumes})
    return Comparable(view.node_id if flavor == "9" else None, view.options, volumes, peers)


def host_nodes(config: DrbdConfig) -> list[str]:
    """The names drbdadm would see as `uname -n` for each host section (floating: its address)."""
    nodes: list[str] = []
    for resource in config:
        for host in resource.hosts:
            name = host.address.host if host.kind is HostKind.FLOATING and host.address else host.name
            if host.kind is not HostKind.STACKED and name not in nodes:
                nodes.append(name)
    return nodes


@pytest.mark.parametrize(("path", "flavor"), GOOD, ids=[f"{p}-{f}" for p, f in GOOD])
def test_node_views_match_drbdadm_up(path: str, flavor: str) -> None:
    config = load(DATA / path)
    checked = 0
    for node in host_nodes(config):
        result = drbdadm(flavor, DATA / path, "-d", "up", "all", node=node)
        assert result.returncode == 0, f"{node}: {result.stderr}"
        setup = parse_setup(result.stdout, flavor)
        mine = {r.name for r in config if config.host_for(r.name, node) is not None}
        assert set(setup) == mine, node
        for name, resource in setup.items():
            assert from_view(config.node(name, node), flavor) == from_setup(resource, flavor), (
                f"{name} on {node}"
            )
            checked += 1
    assert checked > 0


BAD = CORPUS["bad"]


@pytest.mark.parametrize("entry", BAD, ids=[e["path"] for e in BAD])
def test_bad_config_is_refused(entry: dict[str, Any]) -> None:
    path = DATA / entry["path"]
    with pytest.raises(ConfigErrors) as caught:
        load(path)
    assert caught.value.errors[0].line == entry["line"], str(caught.value)
    for flavor, key in (("9", "drbdadm_9"), ("8.4", "drbdadm_84")):
        result = drbdadm(flavor, path, "dump")
        if entry[key] == "accepts":
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode != 0
            assert first_error_line(result.stderr) == entry[key], result.stderr
    if "drbdadm_9_up" in entry:
        result = drbdadm("9", path, "-d", "up", "all", node="alice")
        assert first_error_line(result.stderr) == entry["drbdadm_9_up"], result.stderr

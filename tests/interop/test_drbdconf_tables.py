"""hapair's DRBD option tables against ``drbdsetup xml-help`` of drbd-utils 9.22.

`hapair.config.drbd.options` is the union of the DRBD 9 tables (``drbdsetup``) and the 8.4 ones
(``/usr/lib/drbd/drbdsetup-84``). For every option either binary describes, hapair must know it in
the right section, with a default and a range that covers that binary's, the same unit prefix,
and every enum value either accepts.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import pytest

from hapair.config.drbd.options import (
    DISK_OPTIONS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    OptionSpec,
    ValueKind,
)

DRBDSETUP = {"9": "drbdsetup", "8.4": "/usr/lib/drbd/drbdsetup-84"}
COMMANDS = {
    "9": {
        "disk-options": DISK_OPTIONS,
        "net-options": NET_OPTIONS,
        "new-peer": NET_OPTIONS,
        "resource-options": RESOURCE_OPTIONS,
        "peer-device-options": PEER_DEVICE_OPTIONS,
        "attach": DISK_OPTIONS,
    },
    "8.4": {
        "disk-options": {**DISK_OPTIONS, **PEER_DEVICE_OPTIONS, "fencing": NET_OPTIONS["fencing"]},
        "net-options": NET_OPTIONS,
        "resource-options": RESOURCE_OPTIONS,
        "attach": {**DISK_OPTIONS, **PEER_DEVICE_OPTIONS, "fencing": NET_OPTIONS["fencing"]},
    },
}
NOT_CONFIG_OPTIONS = {"set-defaults", "_name"}  # drbdsetup command flags, not drbd.conf options
# In drbd.conf `resync-after` names a resource (RES[/VOLUME]); drbdadm hands drbdsetup its minor.
NAMED_IN_CONFIG = {"resync-after"}
KIND = {
    "numeric": ValueKind.NUMBER,
    "boolean": ValueKind.BOOLEAN,
    "handler": ValueKind.ENUM,
    "string": ValueKind.STRING,
}

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("drbdsetup") is None or not Path(DRBDSETUP["8.4"]).exists(),
        reason="drbd-utils (drbdsetup, drbdsetup-84) is not installed",
    ),
]

CASES = [(version, command) for version, commands in COMMANDS.items() for command in commands]


def xml_help(version: str, command: str) -> ET.Element:
    result = subprocess.run(
        [DRBDSETUP[version], "xml-help", command], capture_output=True, text=True, timeout=30, check=True
    )
    return ET.fromstring(result.stdout)


@pytest.mark.parametrize(("version", "command"), CASES, ids=[f"{v}-{c}" for v, c in CASES])
def test_table_covers_drbdsetup(version: str, command: str) -> None:
    table: Mapping[str, OptionSpec] = COMMANDS[version][command]
    described = 0
    for option in xml_help(version, command).findall("option"):
        name = option.get("name", "")
        if name in NOT_CONFIG_OPTIONS or (command == "attach" and name == "size" and version == "8.4"):
            continue
        described += 1
        assert name in table, f"{name} ({command}) unknown to hapair"
        spec = table[name]
        kind = option.get("type", "")
        if name in NAMED_IN_CONFIG:
            assert spec.kind is ValueKind.STRING, name
            continue
        fields = {child.tag: (child.text or "") for child in option}
        if kind == "numeric-or-symbol":
            assert spec.kind is ValueKind.ENUM_NUMBER, name
            symbols = [s.text for s in option.findall("symbol")]
            assert set(symbols) <= set(spec.choices), name
            assert spec.default == fields["default"], name
            continue
        assert spec.kind is KIND[kind], name
        if kind == "numeric":
            assert spec.minimum <= int(fields["min"]) and spec.maximum >= int(fields["max"]), name
            assert spec.default == int(fields["default"]), name
            assert spec.scale == fields["unit_prefix"], name
        elif kind == "boolean":
            assert spec.default == (fields["default"] == "yes"), name
        elif kind == "handler":
            values = [h.text for h in option.findall("handler")]
            assert set(values) <= set(spec.choices), name
    assert described > 0

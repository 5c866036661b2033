"""hapair.toml alone: the model, and every mistake as FILE:LINE: message."""

from __future__ import annotations

import pytest

from hapair.config.hapair_toml import parse_hapair_toml
from hapair.core.orchestrator import QuorumLossPolicy, ServiceSpec
from hapair.errors import ConfigErrors

PATH = "/etc/hapair/hapair.toml"
S = 1_000_000_000

FULL = """\
[node]
name = "NODE1"

[sources]
keepalived = "keepalived.conf"
drbd = ["drbd.d/global_common.conf", "/etc/drbd.d/r0.res"]

[witness]
address = "10.30.31.172"
port = 7791
secret = "a long shared secret"
lease = 5
drift_ppm = 1000
margin = 0.25
standby_delay = 0.1

[[group]]
name = "web"
vrrp_instance = "VI_1"
resource = "r0"
device = "/dev/drbd0"
vips = ["10.30.31.171"]
fstype = "xfs"
fsck = "xfs_repair -n /dev/drbd0"
mount_point = "/drbd-fs"
mount_options = "noatime,nodiratime"
service = { start = "/usr/local/bin/web start", stop = "/usr/local/bin/web stop", check = "curl -sf x" }
on_quorum_loss = "error"
promotion_wait = 12.5
keepalived_notify = false
[group.timeouts]
mount = 90
[group.unmount]
kill_after = 2
[group.notify]
master = "/usr/local/bin/tell master"
notify = "/usr/local/bin/tell-all"
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        parse_hapair_toml(text, PATH)
    return [str(e) for e in caught.value.errors]


def test_the_full_example() -> None:
    config, warnings = parse_hapair_toml(FULL, PATH)
    assert warnings == []
    assert config.node == "NODE1"
    assert config.keepalived == "/etc/hapair/keepalived.conf", "relative to hapair.toml's directory"
    assert config.drbd == ("/etc/hapair/drbd.d/global_common.conf", "/etc/drbd.d/r0.res")
    w = config.witness
    assert w is not None
    assert (w.address, w.port, w.secret, w.lease_ns, w.drift_ppm) == (
        "10.30.31.172",
        7791,
        b"a long shared secret",
        5 * S,
        1000,
    )
    assert (w.margin_ns, w.standby_delay_ns) == (S // 4, S // 10)
    [group] = config.groups
    assert (group.name, group.vrrp_instance, group.resource, group.device) == (
        "web",
        "VI_1",
        "r0",
        "/dev/drbd0",
    )
    assert (group.fsck, group.fsck_command) == (True, "xfs_repair -n /dev/drbd0")
    assert group.mount_options == ("noatime", "nodiratime")
    assert group.service == ServiceSpec(
        start="/usr/local/bin/web start", stop="/usr/local/bin/web stop", check="curl -sf x"
    )
    assert group.on_quorum_loss is QuorumLossPolicy.ERROR
    assert group.promotion_wait_ns == 12_500_000_000
    assert group.timeouts.mount == 90 * S and group.timeouts.promote == 10 * S
    assert group.unmount.kill_after_ns == 2 * S and group.unmount.retry_ns == S // 4
    assert (group.notify.master, group.notify.generic) == (
        "/usr/local/bin/tell master",
        "/usr/local/bin/tell-all",
    )
    assert group.keepalived_notify is False
    assert config.where(("group", 0, "mount_point")).line == 25


def test_defaults() -> None:
    config, _ = parse_hapair_toml('[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\n', PATH)
    [group] = config.groups
    assert (group.resource, group.device, group.service, group.fsck) == ("r0", None, None, False)
    assert group.keepalived_notify and config.witness is None and config.node is None


def test_a_syntax_error_names_tomllib_s_line() -> None:
    [error] = errors_of('[node]\nname = "x"\n\n[[group]\n')
    assert error.startswith(f"{PATH}:4: TOML syntax: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\nmount_pont = "/x"\n',
            f"{PATH}:4: group[0].mount_pont: unknown key; did you mean mount_point?",
        ),
        ('[[group]]\nname = "r0"\n', f"{PATH}:1: group[0]: vrrp_instance is required"),
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\n[group.timeouts]\nmount = -1\n',
            f"{PATH}:5: group[0].timeouts.mount: expected seconds greater than 0 and at most a day",
        ),
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\non_quorum_loss = "panic"\n',
            f"{PATH}:4: group[0].on_quorum_loss: expected 'suspend' or 'error'",
        ),
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\nfsck = 3\n',
            f"{PATH}:4: group[0].fsck: expected true, false or a command",
        ),
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\nvips = "10.0.0.1"\n',
            f"{PATH}:4: group[0].vips: expected a list of non-empty strings",
        ),
        (
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\n'
            '[[group]]\nname = "r0"\nvrrp_instance = "VI_2"\n',
            f"{PATH}:5: group[1]: name 'r0' is already used by group[0]",
        ),
        ('[witness]\naddress = "w"\n', f"{PATH}:1: witness: give secret or secret_file (one of them)"),
        ('[witness]\naddress = "w"\nsecret = "short"\n', f"{PATH}:3: witness.secret: at least 8 bytes"),
        (
            '[witness]\naddress = "w"\nsecret = "long enough"\nport = 70000\n',
            f"{PATH}:4: witness.port: expected a whole number in [1, 65535]",
        ),
        (
            '[witness]\naddress = "w"\nsecret = "long enough"\nlease = 0.5\nmargin = 1\n',
            f"{PATH}:4: witness.lease: a lease of 500000000 ns leaves the holder nothing after drift "
            "(10000 ppm) and margin (1000000000 ns)",
        ),
        ('[nodes]\nname = "x"\n', f"{PATH}:1: nodes: unknown key; did you mean node?"),
        (
            '[sources]\nkeepalived = "k.conf"\n[vrrp_instance.VI_1]\nstate = "BACKUP"\n',
            f"{PATH}:3: keepalived configuration given twice: sources.keepalived and tables",
        ),
    ],
)
def test_each_mistake_at_its_line(text: str, expected: str) -> None:
    assert expected in errors_of(text)


def test_every_mistake_is_reported_in_one_run() -> None:
    text = '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\nfstype = 3\nmount_point = ""\nbogus = 1\n'
    lines = [e.split(":")[1] for e in errors_of(text)]
    assert lines == ["4", "5", "6"]

"""``drbdadm dump`` text: the runbook in DRBD 9 form, quoting, selection, what drbdadm 9 drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import dump_config, load_resources, parse_config_text
from hapair.config.drbd.dump import esc

DATA = Path(__file__).resolve().parents[2] / "data" / "drbd"

RUNBOOK_DUMP = """\
global {
    usage-count yes;
}

common {
    net {
        protocol           C;
    }
}

# resource r0 on NODE1: not ignored, not stacked
resource r0 {
    on NODE1 {
        node-id 1;
        device           /dev/drbd0 minor 0;
        disk             /dev/mapper/drbd1-drbd1lv;
        meta-disk        internal;
        address          ipv4 10.30.31.168:7788;
    }
    on NODE2 {
        node-id 0;
        device           /dev/drbd0 minor 0;
        disk             /dev/mapper/drbd2-drbd2lv;
        meta-disk        internal;
        address          ipv4 10.30.31.170:7788;
    }
    options {
        on-no-data-accessible io-error;
    }
    net {
        cram-hmac-alg    sha1;
        shared-secret    sync_disk;
    }
    disk {
        al-extents       257;
        resync-rate      100M;
    }
    startup {
        wfc-timeout       30;
        degr-wfc-timeout  30;
    }
}

"""


def test_runbook_dumps_in_drbd9_form() -> None:
    """The runbook's `syncer { rate; al-extents; on-no-data-accessible }` lands in disk and
    options, node ids are derived; drbdadm 9 reads this text (tests/interop)."""
    config = load_resources(str(DATA / "runbook" / "drbd.conf"), LocalFileReader(), "NODE1")
    lines = [line for line in dump_config(config).splitlines(keepends=True) if not line.startswith("# /")]
    lines = [line for line in lines if not line.startswith("# defined at")]
    assert "".join(lines) == RUNBOOK_DUMP


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("sync_disk", "sync_disk"),
        ("/usr/lib/drbd/x.sh", "/usr/lib/drbd/x.sh"),
        ("", '""'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("x" * 81, '"' + "x" * 81 + '"'),
    ],
)
def test_values_are_quoted_like_drbdadm(text: str, shown: str) -> None:
    assert esc(text) == shown


def test_selected_resources_only_and_the_ignored_comment() -> None:
    text = (
        "global { usage-count no; }\n"
        "resource a "
        "{ device minor 1; disk /x; meta-disk internal;\n"
        " on h1 { address 10.0.0.1:1; } on h2 { address 10.0.0.2:1; } }\n"
        "resource b "
        "{ device minor 2; disk /y; meta-disk internal;\n"
        " on h3 { address 10.0.0.3:2; } on h4 { address 10.0.0.4:2; } }\n"
    )
    dump = dump_config(parse_config_text(text, "t.conf", hostname="h3"), ["b"])
    assert dump.startswith(
        "# resource b on h3: not ignored, not stacked\n# defined at t.conf:4\nresource b {\n"
    )
    assert "global" not in dump and "resource a" not in dump
    full = dump_config(parse_config_text(text, "t.conf", hostname="h3"))
    assert "# resource a on h3: ignored, not stacked" in full


def test_what_drbdadm_9_drops_is_kept() -> None:
    text = (
        "global { udev-always-use-vnr; cmd-timeout-long 30; }\n"
        "resource r { startup { become-primary-on a; stacked-timeouts; wfc-timeout 5; }\n"
        " net { allow-two-primaries; } device minor 1; disk /x; meta-disk internal;\n"
        " on a { address 10.0.0.1:1; } on b { address 10.0.0.2:1; } }\n"
    )
    dump = dump_config(parse_config_text(text))
    assert "    udev-always-use-vnr;\n    cmd-timeout-long 30;\n" in dump
    assert (
        "        become-primary-on   a;\n        wfc-timeout        5;\n        stacked-timeouts;\n" in dump
    )


def test_disk_options_come_before_resync_options() -> None:
    text = (
        "resource r { disk { resync-rate 10M; al-extents 100; }\n"
        " device minor 1; disk /x; meta-disk internal;\n"
        " on a { address 10.0.0.1:1; } on b { address 10.0.0.2:1; } }"
    )
    dump = dump_config(parse_config_text(text))
    assert dump.index("al-extents") < dump.index("resync-rate")


def test_connection_endpoints_and_paths() -> None:
    text = (
        "resource r { device minor 1; disk /x; meta-disk internal;\n"
        " on a { node-id 0; address 10.0.0.1:1; } on b { node-id 1; address 10.0.0.2:1; }\n"
        " connection named { host a port 7; host b address ipv6 [fd00::2]:8; disk { c-min-rate 1M; } }\n"
        "}\n"
    )
    dump = dump_config(parse_config_text(text))
    assert (
        "    connection {\n"
        "        host a port 7;\n"
        "        host b         address         ipv6 [fd00::2]:8;\n"
        "        disk {\n"
        "            c-min-rate    1M;\n"
        "        }\n"
        "    }\n"
    ) in dump


def test_names_that_need_quotes_are_quoted_so_the_dump_reads_back() -> None:
    text = (
        'resource "my res" { device minor 1; disk "/dev/disk/by-label/my disk"; meta-disk internal;\n'
        ' on "host one" { node-id 0; address 10.0.0.1:1; } on b { node-id 1; address 10.0.0.2:1; }\n'
        ' connection { host "host one"; host b; } }\n'
    )
    dump = dump_config(parse_config_text(text))
    assert 'on "host one" {' in dump and 'host "host one";' in dump and 'resource "my res" {' in dump
    assert parse_config_text(dump).resource("my res").hosts[0].name == "host one"

"""The file-system reader and the normalised dump."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kaconf_support import DATA, config_of, instance_text

from hapair.adapters.config_files import (
    FileSystemSources,
    check_keepalived_file,
    default_config_id,
    interface_names,
    script_is_runnable,
)
from hapair.config.keepalived import (
    KeepalivedConfig,
    SourceUnavailable,
    check_config,
    dump_config,
    format_diagnostics,
)


def test_reads_utf8_and_replaces_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_bytes("# 한국어\n".encode() + b"# \xff\xfe latin-1 junk\n")
    assert FileSystemSources().read(str(path)) == "# 한국어\n# \ufffd\ufffd latin-1 junk\n"


def test_missing_files_and_directories_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="No such file"):
        FileSystemSources().read(str(tmp_path / "nope.conf"))
    with pytest.raises(SourceUnavailable, match="not a regular file"):
        FileSystemSources().read(str(tmp_path))


def test_glob_lists_regular_files_sorted(tmp_path: Path) -> None:
    for name in ("b.conf", "a.conf", "c.txt"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "d.conf").mkdir()
    assert FileSystemSources().glob(str(tmp_path / "*.conf")) == [
        str(tmp_path / "a.conf"),
        str(tmp_path / "b.conf"),
    ]
    assert FileSystemSources().glob(str(tmp_path / "a.conf")) == [str(tmp_path / "a.conf")]
    assert FileSystemSources().glob(str(tmp_path / "z.conf")) == []


def test_host_facts() -> None:
    assert "." not in default_config_id()
    assert "lo" in interface_names()
    assert script_is_runnable("/bin/true")
    assert script_is_runnable("true")
    assert not script_is_runnable("/nonexistent/script.sh")


def test_check_keepalived_file_uses_the_real_host(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text(
        "global_defs {\n  enable_script_security\n}\nvrrp_script chk {\n  script /nonexistent/chk.sh\n}\n"
        + instance_text("").replace("interface vA", "interface lo")
    )
    config, diagnostics = check_keepalived_file(str(path), "node1")
    assert format_diagnostics(diagnostics).replace(str(tmp_path) + os.sep, "") == (
        "(k.conf: Line 8) (X) cannot use a loopback interface (lo) for vrrp - ignoring\n"
        "(k.conf: Line 7) (X) Unknown interface!\n"
        "(k.conf: Line 4) Disabling track script chk since not found/accessible"
    )
    assert config is not None and config.instances == ()


def test_dump_is_stable_and_leaves_out_locations() -> None:
    a = config_of(instance_text("  priority 120"))
    b = config_of("\n\n" + instance_text("  priority 120"))
    assert dump_config(a) == dump_config(b)
    dump = dump_config(a)
    assert " VrrpInstance X\n" in dump
    assert "   priority = 120\n" in dump
    assert "     10.0.0.5/24 dev vA scope global\n" not in dump  # no default device in the dump
    assert "     10.0.0.5/24 scope global\n" in dump
    assert "Line" not in dump


def test_dump_of_the_runbook_node1_file() -> None:
    config = check_keepalived_file_in_memory(DATA / "keepalived-node1.conf")
    dump = dump_config(config)
    for expected in (
        "   virtual_router_id = 51\n",
        "   interface = eth1\n",
        "   initial_state = BACKUP\n",
        "   nopreempt = yes\n",
        "     auth_type = PASS\n",
        "     password = '1111'\n",
        "     10.30.31.171 dev eth1 scope global\n",
    ):
        assert expected in dump


def check_keepalived_file_in_memory(path: Path) -> KeepalivedConfig:
    config, diagnostics = check_config(str(path), FileSystemSources())
    assert format_diagnostics(diagnostics) == ""
    assert config is not None
    return config

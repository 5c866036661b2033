"""`hapair vrrp -t` and the refusal to start on a bad configuration (no root needed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hapair.cli.main import main


def a_real_interface() -> str:
    names = [name for _, name in socket.if_nameindex() if name != "lo"]
    if not names:
        pytest.skip("no non-loopback interface in this namespace")
    return names[0]


def test_config_test_accepts_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "ok.conf"
    conf.write_text(
        f"vrrp_instance VI_1 {{\n interface {a_real_interface()}\n virtual_router_id 51\n"
        " virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
        encoding="utf-8",
    )
    assert main(["vrrp", "-t", "-f", str(conf)]) == 0
    assert capsys.readouterr().err == ""


def test_config_test_prints_every_error_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text(
        "vrrp_instance VI_1 {\n    interface lo\n    bogus_kw 1\n    virtual_router_id 300\n"
        "    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n}\n",
        encoding="utf-8",
    )
    assert main(["vrrp", "-t", "-f", str(conf)]) == 3
    err = capsys.readouterr().err
    assert f"({conf}: Line 3) Unknown keyword 'bogus_kw'" in err
    assert f"({conf}: Line 2) (VI_1) cannot use a loopback interface (lo) for vrrp - ignoring" in err
    assert f"({conf}: Line 4) number '300' outside range [1, 255]" in err
    assert f"({conf}: Line 4) (VI_1): VRID '300' not valid - must be between 1 & 255" in err
    assert f"({conf}: Line 9) Extra '}}' found" in err


def test_running_a_bad_config_starts_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("vrrp_instance VI_1 {\n    interface lo\n    priority 0\n}\n", encoding="utf-8")
    state = tmp_path / "state.json"
    assert main(["vrrp", "-n", "-l", "-f", str(conf), "--state-file", str(state)]) == 3
    assert "(VI_1)" in capsys.readouterr().err
    assert not state.exists()


def test_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vrrp", "-t", "-f", str(tmp_path / "nope.conf")]) == 3
    assert "nope.conf" in capsys.readouterr().err


def test_status_without_a_running_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vrrp", "status", "--state-file", str(tmp_path / "none.json")]) == 1
    assert "no state file" in capsys.readouterr().err

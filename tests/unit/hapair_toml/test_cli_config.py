"""`hapair config check` and `hapair config import` on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hapair_toml_support import RUNBOOK

from hapair.cli.main import EXIT_CONFIG, EXIT_OK, EXIT_USAGE, main

GROUP = '[[group]]\nname = "r0"\nvrrp_instance = "VI_1"\nmount_point = "/drbd-fs"\nfstype = "xfs"\n'


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    for name in (
        "keepalived-with-notify.conf",
        "global_common.conf",
        "r0.res",
        "drbd_master.sh",
        "drbd_backup.sh",
    ):
        (tmp_path / name).write_text((RUNBOOK / name).read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def sources(directory: Path) -> str:
    return (
        f'[sources]\nkeepalived = "{directory}/keepalived-with-notify.conf"\n'
        f'drbd = ["{directory}/global_common.conf", "{directory}/r0.res"]\n'
    )


def test_import_then_check(
    setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = setup / "hapair.toml"
    monkeypatch.chdir(setup)
    code = main(
        ["config", "import", "keepalived-with-notify.conf", "global_common.conf", "r0.res", "-o", str(out)]
    )
    assert code == EXIT_OK
    err = capsys.readouterr().err
    assert "hapair config import: VI_1: resource r0 (from `drbdadm primary r0`)" in err
    assert f'keepalived = "{setup}/keepalived-with-notify.conf"' in out.read_text(encoding="utf-8")
    assert main(["config", "import", "keepalived-with-notify.conf", "r0.res", "-o", str(out)]) == EXIT_USAGE
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["config", "check", "-c", str(out), "--node", "NODE1"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.startswith(
        f"{out}: valid for node NODE1; groups: r0 (VRRP VI_1, resource r0 /dev/drbd0)"
    )
    assert "warning: group r0: no [witness]" in captured.err


def test_import_to_stdout(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "config",
            "import",
            str(setup / "keepalived-with-notify.conf"),
            str(setup / "r0.res"),
            "--node",
            "NODE1",
        ]
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert 'name = "NODE1"' in out and 'mount_point = "/drbd-fs"' in out


def test_check_fails_with_exit_3_and_file_line(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = setup / "hapair.toml"
    toml.write_text(sources(setup) + GROUP + 'vips = ["10.9.9.9"]\n', encoding="utf-8")
    assert main(["config", "check", "-c", str(toml), "--node", "NODE1"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{toml}:9: group r0: VIP 10.9.9.9 is not in VRRP instance VI_1 (it has 10.30.31.171)" in err
    assert err.rstrip().endswith("1 error; the configuration cannot run")


def test_a_missing_file_is_a_configuration_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "-c", str(tmp_path / "none.toml"), "--node", "n"]) == EXIT_CONFIG
    assert f"{tmp_path}/none.toml:0: cannot read: No such file or directory" in capsys.readouterr().err


def test_a_witness_secret_file_must_be_private(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = setup / "witness.secret"
    secret.write_text("a long enough secret\n", encoding="utf-8")
    secret.chmod(0o644)
    toml = setup / "hapair.toml"
    witness = f'[witness]\naddress = "10.30.31.172"\nsecret_file = "{secret}"\n'
    toml.write_text(sources(setup) + witness + GROUP + "keepalived_notify = false\n", encoding="utf-8")
    assert main(["config", "check", "-c", str(toml), "--node", "NODE1"]) == EXIT_CONFIG
    assert f"{toml}:6: witness.secret_file {secret} is -rw-r--r--: chmod 600 it" in capsys.readouterr().err
    secret.chmod(0o600)
    assert main(["config", "check", "-c", str(toml), "--node", "NODE1"]) == EXIT_OK


def test_config_without_a_verb_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == EXIT_USAGE
    assert "check" in capsys.readouterr().err

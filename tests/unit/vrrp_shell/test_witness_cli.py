"""`hapair witness` refuses to start without a usable configuration (exit 3, nothing listens)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.adapters.secret_files import SecretFileError, read_secret_file
from hapair.cli.main import main


def test_without_listen_or_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["witness", "-c", str(tmp_path / "missing.toml")]) == 3
    assert "missing.toml" in capsys.readouterr().err
    secret = tmp_path / "secret"
    secret.write_text("a-long-enough-secret\n")
    secret.chmod(0o600)
    assert main(["witness", "--secret-file", str(secret)]) == 3
    assert "--listen" in capsys.readouterr().err


def test_secret_file_rules(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a-long-enough-secret\n")
    secret.chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_secret_file(str(secret), 8)
    secret.chmod(0o600)
    assert read_secret_file(str(secret), 8) == b"a-long-enough-secret"
    with pytest.raises(SecretFileError, match="at least 64 bytes"):
        read_secret_file(str(secret), 64)
    with pytest.raises(SecretFileError):
        read_secret_file(str(tmp_path / "none"), 8)


def test_config_without_witness_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "hapair.toml"
    conf.write_text("[node]\nname = 'n1'\n")
    assert main(["witness", "-c", str(conf)]) == 3
    assert "no [witness] table" in capsys.readouterr().err

"""The CLI helpers: `-c FILE`, `--node NAME`, errors on stderr with exit status 3."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from hapair.cli.drbd_config import add_config_arguments, dump_command
from hapair.cli.main import EXIT_CONFIG, EXIT_OK, EXIT_USAGE

DATA = Path(__file__).resolve().parents[2] / "data" / "drbd"


def run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    parser.add_argument("resources", nargs="*")
    out, err = io.StringIO(), io.StringIO()
    code = dump_command(parser.parse_args(list(argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def test_dump_for_a_node() -> None:
    code, out, err = run("-c", str(DATA / "runbook" / "drbd.conf"), "--node", "NODE2", "r0")
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith("# resource r0 on NODE2: not ignored, not stacked\n")
    assert "resync-rate      100M;" in out


def test_config_errors_exit_3_with_file_and_line() -> None:
    code, out, err = run("-c", str(DATA / "bad" / "out-of-range.conf"), "--node", "alice")
    assert code == EXIT_CONFIG and out == ""
    message = "Parse error: while parsing value ('0') for timeout. Value is too small (0 < 1)."
    assert err.endswith(f"out-of-range.conf:5: {message}\n")


def test_unknown_resource_is_a_usage_error() -> None:
    code, _, err = run("-c", str(DATA / "runbook" / "drbd.conf"), "--node", "NODE1", "r9")
    assert code == EXIT_USAGE and "'r9' not defined" in err

"""`hapair lab up|status|exec|down` through hapair.cli.main.main()."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from hapair.cli.main import build_parser, main
from hapair.lab import Lab
from labkit import assert_no_leftovers, skip_unless_root, unique_prefix


def test_lab_is_a_subcommand_with_its_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lab", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for action in ("up", "status", "exec", "down"):
        assert action in out
    assert "lab" in build_parser().format_help()


@pytest.mark.parametrize(
    "argv",
    [["lab"], ["lab", "up", "--prefix", "Bad_Prefix"], ["lab", "status", "--prefix", ""], ["lab", "fly"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: hapair lab" in capsys.readouterr().err


def test_exec_parses_the_command_after_the_double_dash() -> None:
    args = build_parser().parse_args(["lab", "exec", "--prefix", "p1", "node1", "--", "ip", "-br", "addr"])
    assert (args.prefix, args.host, args.command) == ("p1", "node1", ["ip", "-br", "addr"])


@pytest.fixture
def prefix() -> Iterator[str]:
    """A fresh prefix for a CLI-built lab, removed at the end whatever happened."""
    skip_unless_root()
    chosen = unique_prefix("c")
    try:
        yield chosen
    finally:
        Lab(prefix=chosen).down(grace=0.2)
        assert_no_leftovers(chosen)


@pytest.mark.root
@pytest.mark.lab
@pytest.mark.timeout(120)
def test_cli_round_trip(prefix: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "up", "--prefix", prefix]) == 0
    assert f"lab {prefix}: up" in capfd.readouterr().out
    assert main(["lab", "up", "--prefix", prefix]) == 0  # idempotent
    capfd.readouterr()

    assert main(["lab", "status", "--prefix", prefix, "--json"]) == 0
    status = json.loads(capfd.readouterr().out)
    assert status["complete"] is True and status["vip"] == "10.30.31.171"
    assert [h["name"] for h in status["hosts"]] == ["node1", "node2", "client"]
    assert status["hosts"][0]["mac"] == "02:00:0a:1e:1f:a8"

    assert main(["lab", "status", "--prefix", prefix]) == 0
    text = capfd.readouterr().out
    assert "node2" in text and "10.30.31.170/27" in text

    ping = ["ping", "-c1", "-W1", "10.30.31.168"]
    assert main(["lab", "exec", "--prefix", prefix, "client", "--", *ping]) == 0
    assert "1 received" in capfd.readouterr().out
    assert main(["lab", "exec", "--prefix", prefix, "node1", "--", "sh", "-c", "exit 7"]) == 7
    assert main(["lab", "exec", "--prefix", prefix, "node1", "--", "sh", "-c", "kill -9 $$"]) == 137
    assert main(["lab", "exec", "--prefix", prefix, "sw", "--", "ip", "-o", "link", "show", "br0"]) == 0
    assert "br0" in capfd.readouterr().out
    assert main(["lab", "exec", "--prefix", prefix, "node3", "--", "true"]) == 2
    assert "unknown host 'node3'" in capfd.readouterr().err
    assert main(["lab", "exec", "--prefix", prefix, "node1"]) == 2

    assert main(["lab", "down", "--prefix", prefix]) == 0
    assert f"removed {prefix}-client" in capfd.readouterr().out
    assert_no_leftovers(prefix)
    assert main(["lab", "down", "--prefix", prefix]) == 0
    assert "nothing to remove" in capfd.readouterr().out
    assert main(["lab", "status", "--prefix", prefix]) == 0
    assert f"lab {prefix}: down" in capfd.readouterr().out


@pytest.mark.root
@pytest.mark.lab
@pytest.mark.timeout(60)
def test_exec_on_a_lab_that_is_down_fails_cleanly(prefix: str, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "exec", "--prefix", prefix, "node1", "--", "true"]) == 1
    assert f"host node1 has no namespace {prefix}-node1" in capfd.readouterr().err

"""The runbook's DRBD files (tests/data/drbd/runbook, verbatim copies of the reference seed configs)
load as they are: 8.4 `syncer { rate 100M; ... }`, Korean comments, host names NODE1/NODE2."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hapair.adapters.drbd_files import LocalFileReader
from hapair.config.drbd import MemoryReader, load_resources

RUNBOOK = Path(__file__).resolve().parents[2] / "data" / "drbd" / "runbook"
# sha256 of /work/shared/reference/seed-configs/{r0.res,global_common.conf}: the copies are verbatim.
VERBATIM = {
    "r0.res": "c58d7ed9965d6b90e0cc15b1eda6ba10b7f7ae8665c35bd43e640c8124b0802e",
    "global_common.conf": "ecf1db316bf962b60bdbb7ecf7652337414655b3d720a1596efab2636a398386",
}


@pytest.mark.parametrize("name", sorted(VERBATIM))
def test_copies_are_verbatim(name: str) -> None:
    assert hashlib.sha256((RUNBOOK / name).read_bytes()).hexdigest() == VERBATIM[name]


def test_r0_res_has_its_korean_comments() -> None:
    assert "uname -a에서 확인되는 hostname" in (RUNBOOK / "r0.res").read_text(encoding="utf-8")


def test_r0_res_loads_alone_and_with_global_common() -> None:
    alone = load_resources(str(RUNBOOK / "r0.res"), LocalFileReader(), "NODE2")
    full = load_resources(str(RUNBOOK / "drbd.conf"), LocalFileReader(), "NODE2")
    for config in (alone, full):
        view = config.node("r0")
        assert (view.node_name, view.peer.name) == ("NODE2", "NODE1")
        assert view.peer.net.shared_secret == "sync_disk"
        assert view.peer.volume(0).resync_rate == 102400
    assert full.global_options.usage_count.value == "yes"
    assert full.common is not None and full.common.sections.net.get("protocol") is not None


def test_runbook_as_etc_drbd_conf() -> None:
    """The layout the runbook installs: /etc/drbd.conf including drbd.d/*."""
    reader = MemoryReader(
        {
            "/etc/drbd.conf": 'include "drbd.d/global_common.conf";\ninclude "drbd.d/*.res";\n',
            "/etc/drbd.d/global_common.conf": (RUNBOOK / "global_common.conf").read_text(encoding="utf-8"),
            "/etc/drbd.d/r0.res": (RUNBOOK / "r0.res").read_text(encoding="utf-8"),
        }
    )
    config = load_resources("/etc/drbd.conf", reader, "NODE1")
    assert [v.node_name for v in config.nodes()] == ["NODE1"]

"""`hapair lab demo` (the README's main job) runs to the end and tells the whole story."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hapair.lab.demo import run_demo
from labkit import assert_no_leftovers, unique_prefix

pytestmark = [pytest.mark.root, pytest.mark.lab, pytest.mark.slow]


def test_demo_fails_over_and_cleans_up(tmp_path: Path) -> None:
    prefix = unique_prefix("dm")
    out = io.StringIO()
    try:
        assert run_demo(prefix=prefix, out=out, workdir=tmp_path) == 0, out.getvalue()
    finally:
        assert_no_leftovers(prefix)
    text = out.getvalue()
    assert "node1 is MASTER" in text
    assert "node2 is BACKUP" in text
    assert "client's ARP entry for 10.30.31.171 moved to 02:00:0a:1e:1f:aa (node2)" in text
    assert "node1 stays BACKUP although its priority is higher: nopreempt" in text
    outage = re.search(r"VIP answers again (\d+\.\d+)s after the power-off", text)
    assert outage is not None
    # advert_int 1, backup priority 90: the master down interval is 3.65 s after the last advert.
    assert 2.0 < float(outage.group(1)) < 4.5

"""The simulator drives the pure cores only: no asyncio, sockets, os, time, adapters or daemon."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "src" / "hapair" / "sim"
BANNED = {
    "asyncio",
    "socket",
    "os",
    "time",
    "selectors",
    "subprocess",
    "threading",
    "hapair.adapters",
    "hapair.daemon",
}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(SIM.glob("*.py")), ids=lambda p: p.name)
def test_sim_module_imports_no_shell(path: Path) -> None:
    bad = {name for name in imports(path) if any(name == b or name.startswith(b + ".") for b in BANNED)}
    assert bad == set()


def test_the_check_can_fail(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import asyncio\nfrom hapair.adapters import x\n")
    assert {"asyncio", "hapair.adapters"} <= imports(probe)

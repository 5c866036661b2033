"""Fixtures and helpers for every test that builds network-namespace hosts.

    pytestmark = [pytest.mark.root, pytest.mark.lab]

    def test_failover(lab: Lab, tmp_path: Path) -> None:     # function-scoped, runbook topology
        proc = lab.spawn("node1", [...], tmp_path / "node1.log")
        wait_for(lambda: lab.vip_holders() == ["node1"], 5, "node1 to take the VIP")

- `lab` builds the runbook topology with a fresh random prefix and always tears it down, then
  checks nothing of that prefix is left. `module_lab` is the same, shared by a module's tests
  (faster; each test must undo its own faults). `lab_factory(topology=None)` builds more labs,
  e.g. a custom topology or two labs side by side; all are torn down at the end of the test.
- Without root these fixtures skip the test cleanly.
- `wait_for` is the polling helper with a deadline (no bare sleeps in tests).
- `assert_no_leftovers(prefix)` fails if any namespace of the prefix still exists.

tests/conftest.py imports the fixtures, so any test file under tests/ can use them; import the
helpers with `from labkit import wait_for, unique_prefix, assert_no_leftovers`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest

from hapair.lab import Lab, LabNames, Topology, runbook_topology, wait_until
from hapair.lab.netns import list_namespaces

wait_for = wait_until

LabFactory = Callable[..., Lab]


def unique_prefix(tag: str = "t") -> str:
    """A short prefix no other test run uses: `tag` plus 6 random hex digits, e.g. t3fa9c1."""
    return f"{tag}{secrets.token_hex(3)}"


def skip_unless_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds network namespaces")


def leftover_namespaces(prefix: str) -> list[str]:
    """Namespaces under /run/netns that belong to `prefix` (see LabNames.owns)."""
    names = LabNames(prefix)
    return [name for name in list_namespaces() if names.owns(name)]


def assert_no_leftovers(prefix: str) -> None:
    left = leftover_namespaces(prefix)
    assert not left, f"namespaces of lab {prefix} left behind: {left}"


def build_lab(topology: Topology | None = None, prefix: str | None = None) -> Lab:
    """A lab that is up; if building fails half way, what was built is removed before raising."""
    lab = Lab(topology or runbook_topology(), prefix=prefix or unique_prefix())
    try:
        lab.up()
    except BaseException:
        lab.down()
        raise
    return lab


def tear_down(lab: Lab) -> None:
    """`down`, then check nothing is left; runs the check even if `down` itself failed."""
    try:
        lab.down()
    finally:
        assert_no_leftovers(lab.prefix)


def _runbook_lab() -> Iterator[Lab]:
    skip_unless_root()
    built = build_lab()
    try:
        yield built
    finally:
        tear_down(built)


@pytest.fixture
def lab() -> Iterator[Lab]:
    """The runbook's hosts (node1, node2, client; VIP 10.30.31.171) under a fresh prefix."""
    yield from _runbook_lab()


@pytest.fixture(scope="module")
def module_lab() -> Iterator[Lab]:
    """Like `lab`, shared by every test of a module; tests must undo their own faults."""
    yield from _runbook_lab()


@pytest.fixture
def lab_factory() -> Iterator[LabFactory]:
    """`lab_factory(topology=None, prefix=None) -> Lab`: more labs, all torn down after the test."""
    skip_unless_root()
    built: list[Lab] = []

    def make(topology: Topology | None = None, prefix: str | None = None) -> Lab:
        lab = Lab(topology or runbook_topology(), prefix=prefix or unique_prefix())
        built.append(lab)  # registered before up(), so a half-built lab is still torn down
        lab.up()
        return lab

    try:
        yield make
    finally:
        errors: list[BaseException] = []
        for made in reversed(built):
            try:
                tear_down(made)
            except BaseException as exc:  # tear every lab down, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

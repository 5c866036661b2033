"""The invariants of ../shared/DESIGN.md section 6, as checks over a simulated pair.

- `single_primary`: never two Primaries that both accept writes while they are connected (and,
  unless a test deliberately forces a split brain, never two Primaries at all).
- `lost_acked_writes`: every block holds its last acknowledged version or a later issued one.
- `converged`: after heal, Connected, UpToDate on both sides, data areas byte-identical, bitmaps
  clear.
- `split_brain_seen_on_both`: a split brain, when it happens, is detected by both nodes.

Checks return a list of problems (empty when the invariant holds); `require` raises
`InvariantViolation` with all of them, naming the node and block.
"""

from __future__ import annotations

from collections.abc import Iterable

from hapair.core.volume.events import SplitBrainDetected
from hapair.core.volume.states import ConnState, DiskState, Role
from hapair.sim.node import SimNode
from hapair.sim.workload import BLOCK, History, decode_block


class InvariantViolation(AssertionError):
    """A safety or liveness property of the pair does not hold."""


def require(problems: Iterable[str]) -> None:
    found = list(problems)
    if found:
        raise InvariantViolation("\n".join(found))


def single_primary(nodes: Iterable[SimNode], *, allow_while_apart: bool = False) -> list[str]:
    primaries = [n for n in nodes if n.replica is not None and n.replica.state.role is Role.PRIMARY]
    if len(primaries) < 2:
        return []
    # "together": both see the connection established (during a reconnect one side may still be
    # negotiating, and decides to step down when it gets there)
    together = all(n.replica is not None and n.replica.state.conn >= ConnState.CONNECTED for n in primaries)
    if allow_while_apart and not together:
        return []
    names = ", ".join(n.name for n in primaries)
    where = "while connected" if together else "while apart"
    return [f"two Primaries ({names}) {where}"]


def block_versions(node: SimNode, blocks: Iterable[int]) -> dict[int, int | None]:
    return {b: decode_block(node.disk.read(b * BLOCK, BLOCK), b) for b in blocks}


def lost_acked_writes(node: SimNode, history: History) -> list[str]:
    """Blocks on `node`'s disk (as a read would see them now) older than their last acked write."""
    problems = []
    for block, version in block_versions(node, history.blocks).items():
        acked = history.last_acked(block)
        if version is None:
            problems.append(f"{node.name}: block {block} holds garbage (a torn or foreign write)")
        elif version < acked:
            problems.append(
                f"{node.name}: block {block} holds version {version}, but {acked} was acknowledged"
            )
        elif version and version not in history.issued(block):
            problems.append(f"{node.name}: block {block} holds version {version}, which was never written")
    return problems


def lost_durable_writes(node: SimNode, history: History) -> list[str]:
    """After losing every volatile copy (both nodes' power, or the only node holding them): blocks
    older than their last write acknowledged *and flushed*. Unflushed blocks may hold anything
    they were ever given, torn at sector boundaries."""
    problems = []
    for block, version in block_versions(node, history.blocks).items():
        durable = history.last_durable(block)
        newer_unflushed = max(history.issued(block), default=0) > durable
        if version is None and not newer_unflushed:
            problems.append(f"{node.name}: block {block} holds garbage, but its last write was flushed")
        elif version is not None and version < durable:
            problems.append(f"{node.name}: block {block} holds version {version}, {durable} was flushed")
    return problems


def converged(a: SimNode, b: SimNode) -> list[str]:
    problems = []
    for node in (a, b):
        r = node.replica
        if r is None:
            problems.append(f"{node.name} is down")
            continue
        s = r.state
        if (
            s.conn is not ConnState.CONNECTED
            or s.disk is not DiskState.UP_TO_DATE
            or s.pdsk is not DiskState.UP_TO_DATE
        ):
            problems.append(f"{node.name}: conn {s.conn.text} disk {s.disk.text} pdsk {s.pdsk.text}")
        if r.bitmap is None or r.bitmap.weight:
            weight = None if r.bitmap is None else r.bitmap.weight
            problems.append(f"{node.name}: bitmap not clear ({weight} blocks)")
    if problems:
        return problems
    assert a.replica is not None and b.replica is not None
    size = a.replica.data_size
    if size != b.replica.data_size:
        return [f"sizes differ: {size} vs {b.replica.data_size}"]
    left, right = a.disk.read(0, size), b.disk.read(0, size)
    if left != right:
        differing = [i for i in range(0, size, BLOCK) if left[i : i + BLOCK] != right[i : i + BLOCK]]
        return [f"replicas differ in {len(differing)} blocks, first at block {differing[0] // BLOCK}"]
    if a.replica.ids.masked() != b.replica.ids.masked():
        problems.append(f"generation ids differ: {a.replica.ids.text()} vs {b.replica.ids.text()}")
    return problems


def split_brain_seen_on_both(a: SimNode, b: SimNode) -> list[str]:
    return [
        f"{n.name} did not detect the split brain" for n in (a, b) if not n.log.of_type(SplitBrainDetected)
    ]

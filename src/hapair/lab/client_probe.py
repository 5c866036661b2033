"""The client's view of a failover: a 10 ms ping at the VIP, read back as answered timestamps.

`ping -D -i 0.01` prints the wall-clock time of every answer; a failover shows as a gap. The
outage the client sees after an event at wall time T is the time from T to the first answer after
T (that is the figure the failover benchmark reports; the answer can only come from the new master
once the old one is powered off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hapair.lab.lab import Lab
from hapair.lab.processes import LabProcess

_REPLY = re.compile(r"^\[(?P<ts>\d+\.\d+)\] \d+ bytes from (?P<src>[\d.]+): icmp_seq=(?P<seq>\d+)")
PING_INTERVAL_S = 0.01


@dataclass(frozen=True, slots=True)
class Reply:
    wall_s: float
    seq: int


@dataclass
class ClientPing:
    """A running `ping` from a lab host to a target."""

    process: LabProcess

    def replies(self) -> list[Reply]:
        out = []
        for line in self.process.read_log().splitlines():
            match = _REPLY.match(line)
            if match:
                out.append(Reply(float(match.group("ts")), int(match.group("seq"))))
        return out

    def first_reply_after(self, wall_s: float) -> Reply | None:
        return next((r for r in self.replies() if r.wall_s > wall_s), None)

    def last_reply_before(self, wall_s: float) -> Reply | None:
        before = [r for r in self.replies() if r.wall_s <= wall_s]
        return before[-1] if before else None

    def outage_after(self, wall_s: float) -> float | None:
        """Seconds from `wall_s` to the first answer after it (None: no answer yet)."""
        reply = self.first_reply_after(wall_s)
        return None if reply is None else reply.wall_s - wall_s

    def gap_around(self, wall_s: float) -> float | None:
        """The silence the client saw around `wall_s`: last answer before it to first answer after."""
        before, after = self.last_reply_before(wall_s), self.first_reply_after(wall_s)
        if before is None or after is None:
            return None
        return after.wall_s - before.wall_s

    def stop(self) -> None:
        self.process.stop(2.0)


def start_ping(lab: Lab, host: str, target: str, log_path: Path) -> ClientPing:
    """Ping `target` from `host` every 10 ms until stopped; each answer logged with its time."""
    argv = ["ping", "-D", "-n", "-i", str(PING_INTERVAL_S), "-W", "1", target]
    return ClientPing(lab.spawn(host, argv, log_path))

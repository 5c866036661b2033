"""Failover time seen by the client: hapair <-> hapair against keepalived <-> keepalived, one run.

    .venv/bin/python benchmarks/vrrp_failover.py [--trials 20] [--settings v2-1,v3-0.1] [--json OUT]

Two labs with the runbook's topology run side by side, one pair of engines each (runbook-shaped
configs: node1 BACKUP/100/nopreempt, node2 MASTER/90). Trials alternate between the two labs, so
both engines see the same machine load. One trial: power the current master off (its eth1 down,
then kill -9 of the engine), measure from that moment to the first answer the client gets to its
10 ms ping of the VIP (only the new master can answer), then power it back on (eth1 up, engine
restarted; it rejoins as BACKUP) and wait until it has settled. The next trial fails the other way.
Prints p50 / p95 / max per engine and setting, and the ratio hapair / keepalived.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hapair.lab import Lab, runbook_topology
from hapair.lab.client_probe import ClientPing, start_ping
from hapair.lab.vrrp_nodes import Engine, VrrpEngineProcess, pair_config, start_engine
from hapair.lab.waiting import wait_until

VIP = "10.30.31.171"


@dataclass
class Pair:
    """One lab running one engine on node1 and node2, and the client's ping."""

    engine: Engine
    lab: Lab
    configs: dict[str, Path]
    workdir: Path
    nodes: dict[str, VrrpEngineProcess] = field(default_factory=dict)
    ping: ClientPing | None = None
    advert_s: float = 1.0

    def _start_engine(self, host: str) -> VrrpEngineProcess:
        engine = start_engine(self.lab, host, self.engine, self.configs[host], self.workdir)
        self.nodes[host] = engine
        return engine

    def start(self) -> None:
        self.lab.up()
        node1 = self._start_engine("node1")
        wait_until(lambda: node1.state() == "MASTER", 10, "node1 MASTER")
        node2 = self._start_engine("node2")
        wait_until(lambda: node2.state() == "BACKUP", 10, "node2 BACKUP")
        self.ping = start_ping(self.lab, "client", VIP, self.workdir / f"{self.engine.value}-ping.log")
        wait_until(lambda: self.ping is not None and len(self.ping.replies()) > 10, 5, "ping")

    def master(self) -> str:
        masters = [h for h, n in self.nodes.items() if n.state() == "MASTER"]
        if len(masters) != 1:
            raise RuntimeError(f"{self.engine.value}: masters {masters}")
        return masters[0]

    def trial(self) -> float:
        """Fail the current master over; return seconds from power-off to the first answer."""
        assert self.ping is not None
        old = self.master()
        new = "node2" if old == "node1" else "node1"
        self.lab.link_down(old)
        off_wall = time.time()
        self.nodes[old].crash()
        wait_until(lambda: self.ping is not None and self.ping.first_reply_after(off_wall), 15, "answer")
        outage = self.ping.outage_after(off_wall)
        assert outage is not None
        if self.nodes[new].state() != "MASTER":
            raise RuntimeError(f"{self.engine.value}: {new} answered but is {self.nodes[new].state()}")
        self.lab.link_up(old)
        returning = self._start_engine(old)
        wait_until(lambda: returning.state() == "BACKUP", 10, f"{old} BACKUP again")
        time.sleep(3 * self.advert_s)  # a few adverts: the returning node has heard the master
        return outage

    def stop(self) -> None:
        if self.ping is not None:
            self.ping.stop()
        self.lab.down()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_setting(version: int, advert: str, trials: int, work: Path) -> dict[str, list[float]]:
    pairs: list[Pair] = []
    for index, engine in enumerate((Engine.HAPAIR, Engine.KEEPALIVED)):
        workdir = work / f"v{version}-{advert}-{engine.value}"
        workdir.mkdir(parents=True, exist_ok=True)
        configs = {}
        for node in (1, 2):
            path = workdir / f"node{node}.conf"
            path.write_text(pair_config(node=node, version=version, advert_int=advert), encoding="utf-8")
            configs[f"node{node}"] = path
        lab = Lab(runbook_topology(), prefix=f"bf{index}{version}")
        lab.down()
        pairs.append(Pair(engine, lab, configs, workdir, advert_s=float(advert)))
    results: dict[str, list[float]] = {p.engine.value: [] for p in pairs}
    try:
        for pair in pairs:
            pair.start()
        for trial in range(trials):
            for pair in pairs if trial % 2 == 0 else reversed(pairs):
                outage = pair.trial()
                results[pair.engine.value].append(outage)
                print(f"v{version} advert {advert} trial {trial + 1:2d} {pair.engine.value:10s} "
                      f"{outage:.3f}s", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        for pair in pairs:
            pair.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--settings", default="v2-1,v3-0.1", help="comma list of vVERSION-ADVERT")
    parser.add_argument("--json", type=Path, default=None, help="write the raw figures here")
    args = parser.parse_args(argv)
    # SIGTERM ends the run through the `finally` blocks, so the labs are always torn down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="hapair-bench-vrrp-"))
    report: dict[str, dict[str, list[float]]] = {}
    for setting in args.settings.split(","):
        version_text, advert = setting.split("-", 1)
        report[setting] = run_setting(int(version_text.lstrip("v")), advert, args.trials, work)
    print("| setting | engine | trials | p50 s | p95 s | max s | p95 ratio hapair/keepalived |")
    print("|---|---|---|---|---|---|---|")
    for setting, results in report.items():
        p95_keepalived = percentile(results["keepalived"], 0.95)
        for engine, values in results.items():
            p95 = percentile(values, 0.95)
            ratio = f"{p95 / p95_keepalived:.2f}" if engine == "hapair" else ""
            print(f"| {setting} | {engine} | {len(values)} | {statistics.median(values):.3f} | "
                  f"{p95:.3f} | {max(values):.3f} | {ratio} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"logs: {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The running VRRP engine's state as a JSON file, and its human rendering for `hapair vrrp status`.

keepalived dumps its state as JSON on a signal (/tmp/keepalived.json); hapair keeps an equivalent
file current instead: rewritten atomically (temporary file + rename) on every state change and at
least once a second, so `status` never needs to talk to the process and never sees a torn file.
Each instance is keepalived's JSON object (`data` + `stats`) plus hapair's extra fields.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hapair.core.vrrp import InstanceSnapshot

DEFAULT_STATE_FILE = Path("/run/hapair/vrrp.json")
STATE_NAMES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 98: "STOP"}


def snapshot_document(
    snapshots: Sequence[InstanceSnapshot], *, pid: int, config: str, wall_offset_ns: int
) -> dict[str, Any]:
    instances = []
    for snap in snapshots:
        entry = snap.to_keepalived_json(wall_offset_ns)
        entry["hapair"] = {
            "state_name": snap.state.name,
            "master_address": str(snap.master_address) if snap.master_address else None,
            "last_checksum_form": snap.last_checksum_form.name if snap.last_checksum_form else None,
            "rejected": {reason.value: count for reason, count in snap.rejected},
        }
        instances.append(entry)
    return {
        "pid": pid,
        "config": config,
        "written": time.time(),
        "instances": instances,
    }


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class StateFileReading:
    document: dict[str, Any]
    alive: bool


def read_state_file(path: Path) -> StateFileReading:
    """Read the file; `alive` says whether the process that wrote it still runs."""
    document = json.loads(path.read_text(encoding="utf-8"))
    pid = int(document.get("pid", 0))
    alive = pid > 0 and Path(f"/proc/{pid}").exists()
    return StateFileReading(document, alive)


def render_status(reading: StateFileReading) -> str:
    doc = reading.document
    lines = [f"hapair vrrp pid {doc.get('pid')} ({'running' if reading.alive else 'NOT RUNNING'})"]
    lines.append(f"config {doc.get('config')}")
    for entry in doc.get("instances", []):
        data, stats, extra = entry["data"], entry["stats"], entry.get("hapair", {})
        state = STATE_NAMES.get(int(data["state"]), str(data["state"]))
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(data["last_transition"])))
        master = extra.get("master_address") or "-"
        lines.append(
            f"({data['iname']}) {state} vrid {data['vrid']} v{data['version']}"
            f" priority {data['effective_priority']}/{data['base_priority']} master {master}"
            f" since {since}"
        )
        lines.append(
            f"  adverts sent {stats['advert_sent']} received {stats['advert_rcvd']}"
            f"  became master {stats['become_master']} released {stats['release_master']}"
        )
        rejected = extra.get("rejected") or {}
        if rejected:
            bad = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items()))
            lines.append(f"  bad packets: {bad}")
        else:
            lines.append("  bad packets: none")
        vips = ", ".join(data.get("vips", [])) or "-"
        lines.append(f"  vips: {vips}")
    return "\n".join(lines)

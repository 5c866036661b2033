"""The runbook's files and an in-memory check of hapair.toml against them."""

from __future__ import annotations

from pathlib import Path

from hapair.config.drbd import MemoryReader
from hapair.config.hapair_toml import CheckedConfig, Level, check_hapair_config
from hapair.config.keepalived import InMemorySources

RUNBOOK = Path(__file__).resolve().parents[3] / "src" / "hapair" / "lab" / "data"
ETC = "/etc/hapair"
TOML_PATH = f"{ETC}/hapair.toml"


def runbook(name: str) -> str:
    return (RUNBOOK / name).read_text(encoding="utf-8")


def runbook_files() -> dict[str, str]:
    return {
        f"{ETC}/keepalived.conf": runbook("keepalived-node1.conf"),
        f"{ETC}/global_common.conf": runbook("global_common.conf"),
        f"{ETC}/r0.res": runbook("r0.res"),
    }


SOURCES = """\
[sources]
keepalived = "keepalived.conf"
drbd = ["global_common.conf", "r0.res"]
"""


def check(toml: str, *, files: dict[str, str] | None = None, node: str = "NODE1") -> CheckedConfig:
    every = {TOML_PATH: toml, **(runbook_files() if files is None else files)}

    def read_text(path: str) -> str:
        try:
            return every[path]
        except KeyError:
            raise FileNotFoundError(2, "No such file or directory", path) from None

    keepalived = InMemorySources({p: t for p, t in every.items() if "keepalived" in p})
    drbd = MemoryReader({p: t for p, t in every.items() if "keepalived" not in p})
    return check_hapair_config(TOML_PATH, read_text, keepalived, drbd, hostname=node)


def messages(checked: CheckedConfig, level: Level = Level.ERROR) -> list[str]:
    return [f.format() for f in checked.findings if f.level is level]

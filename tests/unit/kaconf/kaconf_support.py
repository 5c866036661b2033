"""Helpers for the keepalived.conf tests: parse text held in memory, look at the results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from hapair.config.keepalived import (
    ConfigDiagnostic,
    InMemorySources,
    KeepalivedConfig,
    Severity,
    check_config,
)

MAIN = "/etc/keepalived/keepalived.conf"
DATA = Path(__file__).resolve().parents[2] / "data" / "keepalived"
INTERFACES = frozenset({"lo", "eth0", "eth1", "vA", "vB"})


def parse(
    text: str,
    files: Mapping[str, str] | None = None,
    *,
    config_id: str | None = None,
    known_interfaces: frozenset[str] | None = INTERFACES,
    random_int: Callable[[int, int], int] | None = None,
) -> tuple[KeepalivedConfig | None, list[ConfigDiagnostic]]:
    """Check `text` as /etc/keepalived/keepalived.conf, with `files` beside it (relative keys)."""
    sources = {MAIN: text}
    for name, content in (files or {}).items():
        sources[name if name.startswith("/") else f"/etc/keepalived/{name}"] = content
    return check_config(
        MAIN, InMemorySources(sources), config_id, known_interfaces=known_interfaces, random_int=random_int
    )


def messages(diagnostics: list[ConfigDiagnostic], *, notes: bool = False) -> list[str]:
    """The diagnostics as keepalived prints them, with the directory left out of the file name."""
    out = []
    for diagnostic in diagnostics:
        if diagnostic.severity is Severity.NOTE and not notes:
            continue
        out.append(diagnostic.keepalived_style().replace("/etc/keepalived/", ""))
    return out


def config_of(
    text: str, files: Mapping[str, str] | None = None, *, config_id: str | None = None
) -> KeepalivedConfig:
    """The model of `text`, which must parse without any diagnostic but notes."""
    config, diagnostics = parse(text, files, config_id=config_id)
    assert messages(diagnostics) == []
    assert config is not None
    return config


def instance_text(body: str, head: str = "", name: str = "X") -> str:
    """A valid instance (interface vA, VRID 5, one VIP) with `body` added inside it."""
    return (
        f"{head}vrrp_instance {name} {{\n  interface vA\n  virtual_router_id 5\n"
        f"  virtual_ipaddress {{\n    10.0.0.5/24\n  }}\n{body}\n}}\n"
    )

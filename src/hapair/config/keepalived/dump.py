"""A normalised text dump of a `KeepalivedConfig` (tests, and a future `hapair vrrp -d`).

One `name = value` line per field, in declaration order, nested values indented; source
locations are left out so that equal configurations dump equally wherever they were written.
Commands print as quoted argv (`'/bin/echo' 'two words'`), like keepalived's own dump.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import Any

from hapair.config.keepalived.model import KeepalivedConfig, NotifyScript, VirtualAddress

_SECTIONS = (
    ("global_defs", "Global definitions"),
    ("scripts", "VRRP scripts"),
    ("sync_groups", "VRRP sync groups"),
    ("instances", "VRRP instances"),
    ("ignored", "Ignored keywords"),
)


def _scalar(value: object) -> str | None:
    """A one-line rendering, or None when the value needs a nested block."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bytes):
        return repr(value.decode("utf-8", errors="backslashreplace"))
    if isinstance(value, (int, str, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value)
    if isinstance(value, NotifyScript):
        text = " ".join(repr(arg) for arg in value.argv)
        if value.user is not None:
            text += f", user {value.user}"
        if value.group is not None:
            text += f" group {value.group}"
        return text
    if isinstance(value, VirtualAddress):
        return value.describe()
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return " ".join(value) if value else "(none)"
    return None


def _title(obj: Any) -> str:
    name = getattr(obj, "name", None) or getattr(obj, "keyword", None)
    kind = type(obj).__name__
    return f"{kind} {name}" if name else kind


def _lines(obj: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for field in dataclasses.fields(obj):
        if field.name in ("location", "name"):
            continue
        value = getattr(obj, field.name)
        rendered = _scalar(value)
        if rendered is not None:
            out.append(f"{pad}{field.name} = {rendered}")
        elif isinstance(value, tuple):
            out.append(f"{pad}{field.name} ({len(value)}):")
            for item in value:
                item_text = _scalar(item)
                if item_text is not None:
                    out.append(f"{pad}  {item_text}")
                else:
                    out.append(f"{pad}  {_title(item)}")
                    out.extend(_lines(item, indent + 4))
        elif dataclasses.is_dataclass(value):
            out.append(f"{pad}{field.name}:")
            out.extend(_lines(value, indent + 2))
        else:
            out.append(f"{pad}{field.name} = {value!r}")
    return out


def dump_config(config: KeepalivedConfig) -> str:
    """The configuration as stable, diff-friendly text (ends with a newline)."""
    out = [f"Configuration file {config.source}"]
    for attribute, title in _SECTIONS:
        out.append(f"------< {title} >------")
        value = getattr(config, attribute)
        if isinstance(value, tuple):
            for item in value:
                if dataclasses.is_dataclass(item) and attribute != "ignored":
                    out.append(f" {_title(item)}")
                    out.extend(_lines(item, 3))
                else:
                    out.append(f" {item.keyword}")
        else:
            out.extend(_lines(value, 1))
    return "\n".join(out) + "\n"

"""keepalived and DRBD configuration said natively in hapair.toml, rendered to their own grammars.

Instead of pointing at keepalived.conf and `.res` files, hapair.toml may carry the same words:

    [vrrp_instance.VI_1]                       [resource.r0.net]
    state = "BACKUP"                           protocol = "C"
    virtual_router_id = 51                     [resource.r0.on.NODE1]
    nopreempt = true                           device = "/dev/drbd0"
    authentication = { auth_type = "PASS", auth_pass = "1111" }
    virtual_ipaddress = ["10.30.31.171 dev eth1"]

The tables are rendered to keepalived.conf / drbd.conf text and read by the same parsers as the
files (`hapair.config.keepalived`, `hapair.config.drbd`), so the words, defaults and checks are
exactly theirs, and each rendered line remembers the TOML line it came from, for errors.

keepalived: a string is written as it stands after its keyword (a notify or script command with
spaces is quoted), true writes the bare keyword, false writes nothing, a list is a block with one
line per item, a table is a block. DRBD: `key value;`, true/false as yes/no, a table is a section,
`on.NAME` an `on NAME { }` host section and `volume.N` a `volume N { }` section.
"""

from __future__ import annotations

from collections.abc import Mapping

from hapair.config.hapair_toml.fields import Problems, describe
from hapair.config.hapair_toml.lines import Path, TomlLineMap
from hapair.config.hapair_toml.model import NativeText

KEEPALIVED_TABLES = ("global_defs", "vrrp_script", "vrrp_instance")
_QUOTED_KEEPALIVED = ("notify", "script")


class _Writer:
    def __init__(self, lines: TomlLineMap) -> None:
        self.lines = lines
        self.text: list[str] = []
        self.origin: list[int] = []

    def emit(self, depth: int, text: str, path: Path) -> None:
        self.text.append("    " * depth + text)
        self.origin.append(self.lines.line_of(path))

    def result(self) -> NativeText:
        return NativeText("\n".join(self.text) + "\n", tuple(self.origin))


def render_keepalived(
    document: Mapping[str, object], lines: TomlLineMap, problems: Problems
) -> NativeText | None:
    """The keepalived.conf text of the native tables in `document`, or None if there are none."""
    if not any(key in document for key in KEEPALIVED_TABLES):
        return None
    out = _Writer(lines)
    for section in KEEPALIVED_TABLES:
        value = document.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.error((section,), f"{section}: expected a table")
            continue
        if section == "global_defs":
            out.emit(0, "global_defs {", (section,))
            _keepalived_block(out, value, (section,), 1, problems)
            out.emit(0, "}", (section,))
            continue
        for name, body in value.items():
            path: Path = (section, name)
            if not isinstance(body, dict):
                problems.error(path, f"{describe(path)}: expected a table")
                continue
            out.emit(0, f"{section} {name} {{", path)
            _keepalived_block(out, body, path, 1, problems)
            out.emit(0, "}", path)
    return out.result()


def _keepalived_block(
    out: _Writer, body: Mapping[str, object], path: Path, depth: int, problems: Problems
) -> None:
    for key, value in body.items():
        here: Path = (*path, key)
        match value:
            case bool():
                if value:
                    out.emit(depth, key, here)
            case int() | float():
                out.emit(depth, f"{key} {value}", here)
            case str():
                quote = key.startswith(_QUOTED_KEEPALIVED) and " " in value and not value.startswith('"')
                out.emit(depth, f'{key} "{value}"' if quote else f"{key} {value}", here)
            case list():
                out.emit(depth, f"{key} {{", here)
                for index, item in enumerate(value):
                    if isinstance(item, str | int | float) and not isinstance(item, bool):
                        out.emit(depth + 1, str(item), (*here, index))
                    else:
                        problems.error((*here, index), f"{describe(here)}: expected words, one line each")
                out.emit(depth, "}", here)
            case dict():
                out.emit(depth, f"{key} {{", here)
                _keepalived_block(out, value, here, depth + 1, problems)
                out.emit(depth, "}", here)
            case _:
                problems.error(here, f"{describe(here)}: cannot be said in keepalived.conf")


def render_drbd(document: Mapping[str, object], lines: TomlLineMap, problems: Problems) -> NativeText | None:
    """The drbd.conf text of `[resource.NAME]` tables, or None if there are none."""
    resources = document.get("resource")
    if resources is None:
        return None
    out = _Writer(lines)
    if not isinstance(resources, dict):
        problems.error(("resource",), "resource: expected a table of resources")
        return None
    for name, body in resources.items():
        path: Path = ("resource", name)
        if not isinstance(body, dict):
            problems.error(path, f"{describe(path)}: expected a table")
            continue
        out.emit(0, f"resource {name} {{", path)
        _drbd_block(out, body, path, 1, problems)
        out.emit(0, "}", path)
    return out.result()


def _drbd_block(out: _Writer, body: Mapping[str, object], path: Path, depth: int, problems: Problems) -> None:
    for key, value in body.items():
        here: Path = (*path, key)
        match value:
            case bool():
                out.emit(depth, f"{key} {'yes' if value else 'no'};", here)
            case int() | float():
                out.emit(depth, f"{key} {value};", here)
            case str():
                word = value if value and " " not in value and '"' not in value else f'"{value}"'
                out.emit(depth, f"{key} {word};", here)
            case dict() if key in ("on", "volume"):
                for name, section in value.items():
                    inner: Path = (*here, name)
                    if not isinstance(section, dict):
                        problems.error(inner, f"{describe(inner)}: expected a table")
                        continue
                    out.emit(depth, f"{key} {name} {{", inner)
                    _drbd_block(out, section, inner, depth + 1, problems)
                    out.emit(depth, "}", inner)
            case dict():
                out.emit(depth, f"{key} {{", here)
                _drbd_block(out, value, here, depth + 1, problems)
                out.emit(depth, "}", here)
            case _:
                problems.error(here, f"{describe(here)}: cannot be said in a DRBD configuration")

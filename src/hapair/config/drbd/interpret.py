"""From statements to declarations: ``global``, ``common``, ``resource`` and what they contain.

Every statement is checked against the grammar of its context (drbdadm 8.4 and 9 together); a
mistake is reported at its line and the rest of the file is still read, so one run lists every
error. Legacy forms are mapped as drbdadm maps them (see `hapair.config.drbd.sections`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hapair.errors import ConfigError, SourceLocation

from .hosts import HostInterpreter, VolumeBuilder
from .lexer import TokenKind
from .model import CommonDecl, GlobalOptions, ParsedConfig, ResourceDecl, Sections, UsageCount
from .sections import Reporter, Section, SectionBuilder, parse_integer, parse_option
from .syntax import Statement

_OPTION_SECTIONS = {
    "net": Section.NET,
    "disk": Section.DISK,
    "options": Section.OPTIONS,
    "startup": Section.STARTUP,
    "handlers": Section.HANDLERS,
}
_TOP_EXPECTED = "'global | common | resource | skip | include'"


@dataclass
class _Level:
    """The option sections of one common or resource section while it is being read."""

    builders: dict[Section, SectionBuilder] = field(
        default_factory=lambda: {s: SectionBuilder() for s in Section}
    )
    seen: dict[str, SourceLocation] = field(default_factory=dict)

    def freeze(self) -> Sections:
        b = self.builders
        return Sections(
            net=b[Section.NET].freeze(),
            disk=b[Section.DISK].freeze(),
            options=b[Section.OPTIONS].freeze(),
            startup=b[Section.STARTUP].freeze(),
            handlers=b[Section.HANDLERS].freeze(),
        )


def interpret(
    path: str, files: Sequence[str], statements: Sequence[Statement]
) -> tuple[ParsedConfig, list[ConfigError]]:
    """Interpret the top-level statements of a configuration (includes already spliced in)."""
    report = Reporter()
    global_options: GlobalOptions | None = None
    common: CommonDecl | None = None
    resources: list[ResourceDecl] = []
    names: dict[str, SourceLocation] = {}
    for statement in statements:
        keyword = statement.keyword
        if keyword == "global":
            if global_options is not None:
                report.at(statement, "conflicting use of global section (only one global section is allowed)")
            elif _expect_block(statement, 1, report):
                global_options = _global(statement, report)
        elif keyword == "common":
            if common is not None:
                report.at(statement, "conflicting use of common section (only one common section is allowed)")
            elif _expect_block(statement, 1, report):
                level = _Level()
                _common_body(statement, level, report)
                common = CommonDecl(level.freeze(), statement.location)
        elif keyword == "resource":
            resource = _resource(statement, report)
            if resource is None:
                continue
            first = names.get(resource.name)
            if first is not None:
                report.at(
                    statement,
                    f"conflicting use of resource section '{resource.name}' (first used at "
                    f"{first.file}:{first.line})",
                )
                continue
            names[resource.name] = statement.location
            resources.append(resource)
        elif keyword == "skip":
            continue
        else:
            report.at(
                statement.words[0],
                f"Parse error: {_TOP_EXPECTED} expected, but got {statement.words[0].shown()}",
            )
    parsed = ParsedConfig(path, tuple(files), global_options or GlobalOptions(), common, tuple(resources))
    return parsed, report.errors


def _expect_block(statement: Statement, words: int, report: Reporter) -> bool:
    if statement.block is None:
        report.at(statement, f"Parse error: '{{' expected after '{statement.keyword}'")
        return False
    return not report.extra_words(statement, words)


def _global(statement: Statement, report: Reporter) -> GlobalOptions:
    options = GlobalOptions(location=statement.location)
    for st in statement.block or ():
        key = st.keyword
        if st.block is not None:
            report.at(st, f"Parse error: unexpected section '{key}' in the global section")
        elif key == "disable-ip-verification":
            if not report.extra_words(st, 1):
                options = replace(options, disable_ip_verification=True)
        elif key == "udev-always-use-vnr":
            if not report.extra_words(st, 1):
                options = replace(options, udev_always_use_vnr=True)
        elif key == "usage-count":
            arg = st.args[0].text if st.args else ""
            if arg not in ("yes", "no", "ask"):
                report.at(st, "Parse error: 'yes | no | ask' expected after usage-count")
            elif not report.extra_words(st, 2):
                options = replace(options, usage_count=UsageCount(arg))
        elif key in _GLOBAL_NUMBERS:
            lo, hi = _GLOBAL_NUMBERS[key]
            number = parse_integer(st.args[0] if st.args else None, key, lo, hi, report, at=st)
            if number is not None and not report.extra_words(st, 2):
                options = _set_global_number(options, key, number)
        else:
            report.at(
                st.words[0],
                "Parse error: 'dialog-refresh | minor-count | disable-ip-verification | usage-count | "
                "udev-always-use-vnr | cmd-timeout-short | cmd-timeout-medium | cmd-timeout-long' expected, "
                f"but got {st.words[0].shown()}",
            )
    return options


def _set_global_number(options: GlobalOptions, key: str, number: int) -> GlobalOptions:
    if key == "minor-count":
        return replace(options, minor_count=number)
    if key == "dialog-refresh":
        return replace(options, dialog_refresh=number)
    if key == "cmd-timeout-short":
        return replace(options, cmd_timeout_short=number)
    if key == "cmd-timeout-medium":
        return replace(options, cmd_timeout_medium=number)
    return replace(options, cmd_timeout_long=number)


_GLOBAL_NUMBERS = {
    "minor-count": (1, 255),
    "dialog-refresh": (0, 600),
    "cmd-timeout-short": (0, 900),
    "cmd-timeout-medium": (0, 900),
    "cmd-timeout-long": (0, 900),
}


def _option_section(statement: Statement, level: _Level, report: Reporter, *, scope: str) -> bool:
    """net/disk/options/startup/handlers/syncer blocks and a bare ``protocol X;``. True if handled."""
    key = statement.keyword
    if key == "protocol" and statement.block is None:
        result = parse_option(statement, Section.NET, report)
        if result is not None:
            level.builders[Section.NET].add(result[1], report)
        return True
    syncer = key == "syncer"
    section = _OPTION_SECTIONS.get(key)
    if section is None and not syncer:
        return False
    if statement.block is None:
        return False  # `disk PATH;` is a volume statement
    if report.extra_words(statement, 1):
        return True
    first = level.seen.get(key)
    if first is not None:
        report.at(
            statement, f"conflicting use of {key} section in {scope} (first at {first.file}:{first.line})"
        )
        return True
    level.seen[key] = statement.location
    if section is not None and level.builders[section].location is None:
        level.builders[section].location = statement.location
    for st in statement.block:
        result = parse_option(st, section or Section.DISK, report, syncer=syncer)
        if result is not None:
            target, value = result
            level.builders[target].add(value, report)
    return True


def _common_body(statement: Statement, level: _Level, report: Reporter) -> None:
    for st in statement.block or ():
        if st.keyword == "skip":
            continue
        if _option_section(st, level, report, scope="the common section"):
            continue
        if st.keyword in (
            "on",
            "floating",
            "stacked-on-top-of",
            "volume",
            "device",
            "disk",
            "meta-disk",
            "connection",
        ):
            report.at(
                st,
                f"in the common section, '{st.keyword}' is not allowed (only net, disk, options, startup, "
                "handlers)",
            )
        else:
            report.at(
                st.words[0],
                f"Parse error: a section keyword expected in common, but got {st.words[0].shown()}",
            )


def _resource(statement: Statement, report: Reporter) -> ResourceDecl | None:
    args = statement.args
    if statement.block is None or not args or not args[0].is_value:
        report.at(statement, "Parse error: 'resource NAME { ... }' expected")
        return None
    if report.extra_words(statement, 2):
        return None
    name = args[0].text
    if not name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        report.at(args[0], "resource name is empty or contains control characters")
        return None
    level = _Level()
    hosts = HostInterpreter(name, report)
    implicit = VolumeBuilder(0, implicit=True, location=statement.location)
    explicit: dict[int, VolumeBuilder] = {}
    for st in statement.block:
        key = st.keyword
        if key == "skip" or _option_section(st, level, report, scope=f"resource {name}"):
            continue
        if key in ("device", "disk", "meta-disk", "flexible-meta-disk"):
            if explicit:
                report.at(
                    st, "Explicit and implicit volumes not allowed (use 'volume N { ... }' for every volume)"
                )
            else:
                implicit.statement(st, report)
        elif key == "volume":
            if implicit.touched:
                report.at(
                    st, "Explicit and implicit volumes not allowed (use 'volume N { ... }' for every volume)"
                )
                continue
            number = (
                parse_integer(st.args[0] if st.args else None, "volume number", 0, 65534, report, at=st)
                if _block_with(st, 2, report)
                else None
            )
            if number is None:
                continue
            if number in explicit:
                report.at(st, f"volume {number} is defined twice in resource {name}")
                continue
            volume = VolumeBuilder(number, implicit=False, location=st.location)
            for inner in st.block or ():
                volume.statement(inner, report)
            explicit[number] = volume
        elif key in ("on", "floating", "stacked-on-top-of", "connection", "connection-mesh"):
            hosts.statement(st)
        elif key in ("proxy", "template-file"):
            report.at(st, f"'{key}' (DRBD proxy / templates) is not supported by hapair")
        elif key == "include":
            report.at(st, "include statements are only allowed outside of sections")
        else:
            report.at(
                st.words[0],
                "Parse error: 'protocol | on | floating | stacked-on-top-of | disk | device | meta-disk | "
                "volume | net | "
                "syncer | startup | handlers | options | connection | connection-mesh | skip' expected, but "
                f"got {st.words[0].shown()}",
            )
    volumes = tuple(v.freeze() for v in sorted(explicit.values(), key=lambda v: v.number))
    if implicit.touched:
        volumes = (implicit.freeze(),)
    return ResourceDecl(
        name=name,
        location=statement.location,
        sections=level.freeze(),
        volumes=volumes,
        hosts=tuple(hosts.hosts),
        connections=tuple(hosts.connections),
        meshes=tuple(hosts.meshes),
    )


def _block_with(statement: Statement, words: int, report: Reporter) -> bool:
    if statement.block is None:
        report.at(statement, f"Parse error: '{{' expected after '{statement.keyword}'")
        return False
    if len(statement.words) < words or statement.words[words - 1].kind is not TokenKind.WORD:
        report.at(statement, f"Parse error: '{statement.keyword}' needs a number")
        return False
    return not report.extra_words(statement, words)

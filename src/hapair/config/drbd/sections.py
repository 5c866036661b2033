"""Option sections (net, disk, options, startup, handlers, syncer) and the small value grammars
(addresses, devices, meta-disks) shared by the resource and host interpreters.

Rules follow drbdadm's parser (drbd-utils `user/v9/drbdadm_parser.c`): a bare boolean option means
``yes``, ``no-NAME;`` means ``NAME no``, ``syncer`` options are distributed to the net, disk or
options section by name (``rate`` is ``resync-rate``, ``after`` is ``resync-after``), the
``outdate-peer`` handler is ``fence-peer``. DRBD 8.4's ``disk { fencing ...; }`` is moved to the
net section, where DRBD 9 requires it. hapair is stricter than drbdadm in one place: an option
given twice in one section is an error (drbdadm keeps both and the last one wins).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hapair.errors import ConfigError, SourceLocation

from .lexer import Token, TokenKind
from .model import Address, MetaDisk, MetaDiskKind, OptionSection, OptionValue
from .options import (
    ALIASES,
    DISK_OPTIONS,
    HANDLERS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    STARTUP_OPTIONS,
    OptionSpec,
    ValueKind,
    check_value,
    parse_number,
)
from .syntax import Statement

MINOR_MAX = (1 << 20) - 1
VOLUME_MAX = 65534
NODE_ID_MAX = 32


class Reporter:
    """Collects errors; every message is located at a token or a statement."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def at(self, where: Token | Statement | SourceLocation, message: str) -> None:
        loc = where if isinstance(where, SourceLocation) else where.location
        self.errors.append(ConfigError(loc.file, loc.line, message))

    def extra_words(self, statement: Statement, used: int) -> bool:
        """Report the first word after the `used` ones; True when there was one."""
        if len(statement.words) > used:
            extra = statement.words[used]
            self.at(extra, f"Parse error: ';' expected, but got {extra.shown()}")
            return True
        return False


class Section(enum.Enum):
    NET = "net"
    DISK = "disk"
    PEER_DEVICE = "peer-device"  # a connection's `disk { }`: peer-device options only
    OPTIONS = "options"
    STARTUP = "startup"
    HANDLERS = "handlers"


_TABLES: Mapping[Section, tuple[Mapping[str, OptionSpec], ...]] = {
    Section.NET: (NET_OPTIONS,),
    Section.DISK: (DISK_OPTIONS, PEER_DEVICE_OPTIONS),
    Section.PEER_DEVICE: (PEER_DEVICE_OPTIONS,),
    Section.OPTIONS: (RESOURCE_OPTIONS,),
    Section.STARTUP: (STARTUP_OPTIONS,),
    Section.HANDLERS: (HANDLERS,),
}


def spec_for(section: Section, name: str) -> OptionSpec | None:
    for table in _TABLES[section]:
        spec = table.get(name)
        if spec is not None:
            return spec
    return None


@dataclass
class SectionBuilder:
    """Options gathered for one place (e.g. a resource's net section) from several statements."""

    options: list[OptionValue] = field(default_factory=list)
    location: SourceLocation | None = None

    def add(self, option: OptionValue, report: Reporter) -> None:
        for existing in self.options:
            if existing.name == option.name:
                first = existing.location
                report.at(
                    option.location,
                    f"option '{option.name}' given twice in one section (first at {first.file}:{first.line})",
                )
                return
        self.options.append(option)

    def freeze(self) -> OptionSection:
        if self.location is None:
            return OptionSection(tuple(self.options)) if self.options else OptionSection()
        return OptionSection(tuple(self.options), self.location)


def parse_option(
    statement: Statement, section: Section, report: Reporter, syncer: bool = False
) -> tuple[Section, OptionValue] | None:
    """Interpret one ``name [value...];`` statement of an option section.

    Returns the section the option belongs in (a syncer option goes to net, disk or options; a
    legacy ``fencing`` in a disk section goes to net) and its value, or None after reporting.
    """
    first = statement.words[0]
    if statement.block is not None:
        report.at(first, f"Parse error: unexpected section {first.shown()} inside a {section.value} section")
        return None
    if first.kind is not TokenKind.WORD:
        report.at(first, f"Parse error: an option keyword expected, but got {first.shown()}")
        return None
    name = ALIASES.get(first.text, first.text) if (syncer or section is Section.HANDLERS) else first.text
    negated = False
    target, spec = _lookup(name, section, syncer)
    if spec is None and name.startswith("no-"):
        target, spec = _lookup(name[3:], section, syncer)
        negated = spec is not None
    if spec is None or target is None:
        report.at(
            first,
            f"Parse error: unknown option {first.shown()} in a {'syncer' if syncer else section.value} "
            "section",
        )
        return None
    value = _option_value(statement, spec, negated, report)
    if value is None:
        return None
    return target, OptionValue(spec.name, value[0], value[1], first.location)


def _lookup(name: str, section: Section, syncer: bool) -> tuple[Section | None, OptionSpec | None]:
    if syncer:
        for target in (Section.NET, Section.DISK, Section.OPTIONS):
            spec = spec_for(target, name)
            if spec is not None:
                return (Section.NET if name == "fencing" else target), spec
        return None, None
    if section is Section.DISK and name == "fencing":
        return Section.NET, NET_OPTIONS["fencing"]
    return section, spec_for(section, name)


def _option_value(
    statement: Statement, spec: OptionSpec, negated: bool, report: Reporter
) -> tuple[str, bool | int | str] | None:
    args = statement.args
    first = statement.words[0]
    if negated:
        if spec.kind is not ValueKind.BOOLEAN or args:
            report.at(
                first, f"Parse error: '{first.text}' is only allowed for yes/no options and takes no value"
            )
            return None
        return "no", False
    if spec.kind is ValueKind.FLAG:
        if report.extra_words(statement, 1):
            return None
        return "", True
    if not args:
        if spec.kind is ValueKind.BOOLEAN:
            return "yes", True
        report.at(first, f"Parse error: option '{spec.name}' needs a value")
        return None
    if spec.kind is ValueKind.WORDS:
        bad = [a for a in args if not a.is_value]
        if bad:
            report.at(bad[0], f"Parse error: a host name expected, but got {bad[0].shown()}")
            return None
        text = " ".join(a.text for a in args)
        return text, text
    if report.extra_words(statement, 2):
        return None
    token = args[0]
    if not token.is_value:
        report.at(token, f"Parse error: a value for '{spec.name}' expected, but got {token.shown()}")
        return None
    converted, why = check_value(spec, token.text)
    if converted is None:
        report.at(token, f"Parse error: while parsing value ('{token.text}') for {spec.name}. {why}.")
        return None
    return token.text, converted


def parse_integer(
    token: Token | None, what: str, lo: int, hi: int, report: Reporter, *, at: Statement
) -> int | None:
    """A plain decimal number (node-id, volume number, minor, port) within [lo, hi]."""
    if token is None:
        report.at(at, f"Parse error: {what} expected")
        return None
    value = parse_number(token.text, "1") if token.kind is TokenKind.WORD and token.text.isdigit() else None
    if value is None:
        report.at(token, f"Parse error: {what} expected, but got {token.shown()}")
        return None
    if not lo <= value <= hi:
        report.at(token, f"{what} {token.text} => {value} out of range [{lo}..{hi}]")
        return None
    return value


_FAMILIES = ("ipv4", "ipv6")
_UNSUPPORTED_FAMILIES = ("ssocks", "sdp", "sci")


def parse_address(words: Sequence[Token], at: Statement, report: Reporter) -> tuple[Address | None, int]:
    """``[ipv4|ipv6] ADDR:PORT`` at the start of `words`; returns the address and words used."""
    pos = 0
    family = "ipv4"
    if words and words[0].kind is TokenKind.WORD and words[0].text in _FAMILIES + _UNSUPPORTED_FAMILIES:
        family = words[0].text
        pos = 1
        if family in _UNSUPPORTED_FAMILIES:
            report.at(words[0], f"address family '{family}' is not supported by hapair (ipv4 and ipv6 are)")
            return None, len(words)
    want_kind = TokenKind.BRACKETED if family == "ipv6" else TokenKind.WORD
    if len(words) < pos + 3 or words[pos].kind is not want_kind or words[pos + 1].kind is not TokenKind.COLON:
        bad = words[pos] if len(words) > pos else at.words[0]
        shape = "ipv6 [ADDRESS]:PORT" if family == "ipv6" else "[ipv4] ADDRESS:PORT"
        report.at(bad, f"Parse error: an address of the form '{shape}' expected")
        return None, len(words)
    host_token = words[pos]
    try:
        if family == "ipv6":
            ipaddress.IPv6Address(host_token.text.split("%", 1)[0])
        else:
            ipaddress.IPv4Address(host_token.text)
    except ValueError:
        report.at(host_token, f"'{host_token.text}' is not a valid {family} address")
        return None, len(words)
    port = parse_integer(words[pos + 2], "port", 1, 65535, report, at=at)
    if port is None:
        return None, len(words)
    return Address(family, host_token.text, port), pos + 3


def parse_device(statement: Statement, report: Reporter) -> tuple[str | None, int | None] | None:
    """``device /dev/drbdN;``, ``device NAME minor N;`` or ``device minor N;``: (path, minor)."""
    args = list(statement.args)
    path: str | None = None
    if args and args[0].is_value and args[0].text != "minor":
        name = args.pop(0).text
        path = "/dev/" + name if name.startswith("drbd") else name
        if not path.startswith("/dev/drbd"):
            report.at(
                statement, "device name must start with /dev/drbd (/dev/ is optional, but drbd is required)"
            )
            return None
    minor: int | None = None
    if args and args[0].kind is TokenKind.WORD and args[0].text == "minor":
        minor = parse_integer(
            args[1] if len(args) > 1 else None, "minor number", 0, MINOR_MAX, report, at=statement
        )
        if minor is None:
            return None
        args = args[2:]
    elif args:
        report.at(args[0], f"Parse error: 'minor | ;' expected, but got {args[0].shown()}")
        return None
    if path is None and minor is None:
        report.at(statement, "Parse error: a device name or 'minor N' expected")
        return None
    if args:
        report.at(args[0], f"Parse error: ';' expected, but got {args[0].shown()}")
        return None
    digits = path[9:] if path is not None else ""
    if minor is None:
        if not digits.isdigit():
            report.at(statement, "no minor given nor device name contains a minor number")
            return None
        minor = int(digits)
        if minor > MINOR_MAX:
            report.at(statement, f"minor number {minor} out of range [0..{MINOR_MAX}]")
            return None
    elif path is not None:
        if digits.isdigit() and int(digits) != minor:
            report.at(
                statement,
                f'explicit minor number must match with device name: try "device /dev/drbd{minor} minor '
                f'{minor};"',
            )
            return None
        if not digits.isdigit() and not digits.startswith("_"):
            report.at(statement, "arbitrary device name must start with /dev/drbd_ (mind the '_')")
            return None
    return path, minor


def parse_meta_disk(statement: Statement, report: Reporter, flexible: bool) -> MetaDisk | None:
    """``meta-disk internal | DEVICE | DEVICE [INDEX];`` or ``flexible-meta-disk internal | DEVICE;``."""
    args = statement.args
    if not args or not args[0].is_value:
        report.at(statement, f"Parse error: '{statement.keyword}' needs 'internal' or a device")
        return None
    device = args[0].text
    if device == "internal":
        if report.extra_words(statement, 2):
            return None
        return MetaDisk(MetaDiskKind.INTERNAL)
    if len(args) == 1 or flexible:
        if report.extra_words(statement, 2):
            return None
        return MetaDisk(MetaDiskKind.FLEXIBLE, device)
    index_token = args[1]
    if index_token.kind is not TokenKind.BRACKETED or not index_token.text.isdigit():
        report.at(index_token, f"Parse error: '[INDEX] | ;' expected, but got {index_token.shown()}")
        return None
    if report.extra_words(statement, 3):
        return None
    return MetaDisk(MetaDiskKind.INDEXED, device, int(index_token.text))

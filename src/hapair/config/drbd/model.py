"""The configuration as written: sections, options and host declarations, each with its place.

These are the declarations the interpreter builds from the statement tree, before inheritance.
`hapair.config.drbd.resolve` turns them into resolved resources (common and resource options pushed
down, volumes inherited into host sections, connections and node ids derived), and
`hapair.config.drbd.node` into the typed per-node view the volume engine uses.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from hapair.errors import SourceLocation

from .options import CanonicalValue

NOWHERE = SourceLocation("<none>", 0)


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One option as written: canonical name, the text of its value, the converted value, place.

    `value` is in DRBD's default unit for the option (see `hapair.config.drbd.options`): an int
    for numbers, a bool for yes/no options, a str for enums and strings.
    """

    name: str
    text: str
    value: CanonicalValue
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class OptionSection:
    """The options of one section, in the order they were written."""

    options: tuple[OptionValue, ...] = ()
    location: SourceLocation = NOWHERE

    def get(self, name: str) -> OptionValue | None:
        for option in self.options:
            if option.name == name:
                return option
        return None

    def __iter__(self) -> Iterator[OptionValue]:
        return iter(self.options)


EMPTY_SECTION = OptionSection()


@dataclass(frozen=True, slots=True)
class Address:
    """``address [ipv4|ipv6] ADDR:PORT``."""

    family: str
    host: str
    port: int

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.host.split("%", 1)[0])

    def conf_text(self) -> str:
        """As drbdadm dump writes it: ``ipv4 10.1.1.31:7789`` / ``ipv6 [fd00::1]:7789``."""
        if self.family == "ipv6":
            return f"ipv6 [{self.host}]:{self.port}"
        return f"{self.family} {self.host}:{self.port}"

    def setup_text(self) -> str:
        """As drbdsetup takes it: ``ipv4:10.1.1.31:7789`` / ``ipv6:[fd00::1]:7789``."""
        if self.family == "ipv6":
            return f"ipv6:[{self.host}]:{self.port}"
        return f"{self.family}:{self.host}:{self.port}"


class MetaDiskKind(enum.Enum):
    INTERNAL = "internal"  # metadata at the end of the backing disk
    FLEXIBLE = "flexible"  # a separate device, sized for the backing disk
    INDEXED = "indexed"  # a 128 MiB slot `index` of a shared metadata device


@dataclass(frozen=True, slots=True)
class MetaDisk:
    kind: MetaDiskKind
    device: str | None = None
    index: int | None = None

    def index_text(self) -> str:
        """drbdsetup/drbdmeta's third word: ``internal``, ``flexible`` or the index."""
        if self.kind is MetaDiskKind.INDEXED:
            return str(self.index)
        return str(self.kind.value)


@dataclass(frozen=True, slots=True)
class VolumeDecl:
    """A ``volume N { ... }`` section, or the implicit volume 0 of statements written directly in
    a resource or host section (``device ...; disk ...; meta-disk ...;``)."""

    number: int
    implicit: bool
    device: str | None = None
    minor: int | None = None
    disk: str | None = None  # a path, or "none" for an intentionally diskless volume
    meta_disk: MetaDisk | None = None
    disk_options: OptionSection = EMPTY_SECTION
    location: SourceLocation = NOWHERE
    has_disk_statement: bool = False  # `disk PATH;` or `disk { ... }` written here (drbdadm dump)
    device_location: SourceLocation = NOWHERE  # where `device` was written, if it was


class HostKind(enum.Enum):
    ON = "on"
    FLOATING = "floating"
    STACKED = "stacked-on-top-of"


@dataclass(frozen=True, slots=True)
class HostSection:
    """``on NAME... { }``, ``floating ADDR:PORT { }`` or ``stacked-on-top-of RESOURCE { }``.

    For a floating section `names` holds ``ADDR:PORT`` (as drbdadm names it); for a stacked
    section, the lower resource's name.
    """

    kind: HostKind
    names: tuple[str, ...]
    node_id: int | None
    address: Address | None
    volumes: tuple[VolumeDecl, ...]
    location: SourceLocation
    address_location: SourceLocation = NOWHERE

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """``host NAME [address [AF] ADDR:PORT] [port N];`` in a connection or path."""

    host: str
    address: Address | None
    port: int | None
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class PathDecl:
    endpoints: tuple[Endpoint, ...]
    implicit: bool  # the host statements stood directly in the connection section
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class PeerDeviceDecl:
    """``volume N { disk { peer-device options } }`` inside a connection."""

    number: int
    options: OptionSection
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class ConnectionDecl:
    name: str | None
    paths: tuple[PathDecl, ...]
    net: OptionSection
    disk: OptionSection
    peer_devices: tuple[PeerDeviceDecl, ...]
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class MeshDecl:
    hosts: tuple[str, ...]
    net: OptionSection
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class Sections:
    """The option sections a ``common`` or ``resource`` section can hold (``syncer`` and a
    resource-level ``protocol`` are already distributed into these, as drbdadm does)."""

    net: OptionSection = EMPTY_SECTION
    disk: OptionSection = EMPTY_SECTION
    options: OptionSection = EMPTY_SECTION
    startup: OptionSection = EMPTY_SECTION
    handlers: OptionSection = EMPTY_SECTION

    def named(self) -> Mapping[str, OptionSection]:
        return {
            "options": self.options,
            "net": self.net,
            "disk": self.disk,
            "startup": self.startup,
            "handlers": self.handlers,
        }


@dataclass(frozen=True, slots=True)
class ResourceDecl:
    name: str
    location: SourceLocation
    sections: Sections
    volumes: tuple[VolumeDecl, ...]
    hosts: tuple[HostSection, ...]
    connections: tuple[ConnectionDecl, ...]
    meshes: tuple[MeshDecl, ...]


@dataclass(frozen=True, slots=True)
class CommonDecl:
    sections: Sections
    location: SourceLocation


class UsageCount(enum.Enum):
    YES = "yes"
    NO = "no"
    ASK = "ask"


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """The ``global`` section. Defaults are drbdadm's."""

    usage_count: UsageCount = UsageCount.ASK
    disable_ip_verification: bool = False
    minor_count: int | None = None
    dialog_refresh: int = 1  # seconds between countdown updates of the init script; 0 = none
    udev_always_use_vnr: bool = False
    cmd_timeout_short: int | None = None  # seconds
    cmd_timeout_medium: int | None = None
    cmd_timeout_long: int | None = None
    location: SourceLocation | None = None


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    """Everything declared in a configuration and the files it came from (before resolution)."""

    path: str
    files: tuple[str, ...]
    global_options: GlobalOptions = field(default_factory=GlobalOptions)
    common: CommonDecl | None = None
    resources: tuple[ResourceDecl, ...] = ()

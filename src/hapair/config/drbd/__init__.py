"""DRBD configuration (``drbd.conf``, ``global_common.conf``, ``*.res``) in the 8.4 and 9 grammars.

Entry points:

- `load_resources(path, reader, hostname=None)` -> `DrbdConfig`, raising
  `hapair.errors.ConfigErrors` (every error as ``FILE:LINE: message``; CLI exit code 3);
- `DrbdConfig.node(resource)` -> `NodeView`: one resource as this node must run it (local volumes,
  peers with typed `NetOptions` / `PeerDeviceOptions`, `DiskOptions`, `ResourceOptions`,
  `StartupOptions`, `Handlers`), with DRBD's defaults and units;
- `dump_config(config)`: ``drbdadm dump`` text; `normalized_form(config)`: comparable dicts.

File access is injected (`SourceReader`); `hapair.adapters.drbd_files.LocalFileReader` reads the
real files, `MemoryReader` serves tests.
"""

from .config import DrbdConfig, load_resources, parse_config_text
from .dump import dump_config
from .model import Address, GlobalOptions, HostKind, MetaDisk, MetaDiskKind, UsageCount
from .names import hostnames_equal
from .node import LocalVolume, NodeView, PeerLink, PeerVolume
from .normalized import normalized_form
from .resolve import ResolvedConnection, ResolvedHost, ResolvedVolume, Resource
from .source import MemoryReader, SourceReader
from .typed import (
    AfterSb0Pri,
    AfterSb1Pri,
    AfterSb2Pri,
    DiskOptions,
    Fencing,
    Handlers,
    NetOptions,
    OnCongestion,
    OnIoError,
    OnNoDataAccessible,
    OnNoQuorum,
    OnSuspendedPrimaryOutdated,
    PeerDeviceOptions,
    Protocol,
    QuorumKeyword,
    ReadBalancing,
    ResourceOptions,
    RrConflict,
    StartupOptions,
)

__all__ = [
    "Address",
    "AfterSb0Pri",
    "AfterSb1Pri",
    "AfterSb2Pri",
    "DiskOptions",
    "DrbdConfig",
    "Fencing",
    "GlobalOptions",
    "Handlers",
    "HostKind",
    "LocalVolume",
    "MemoryReader",
    "MetaDisk",
    "MetaDiskKind",
    "NetOptions",
    "NodeView",
    "OnCongestion",
    "OnIoError",
    "OnNoDataAccessible",
    "OnNoQuorum",
    "OnSuspendedPrimaryOutdated",
    "PeerDeviceOptions",
    "PeerLink",
    "PeerVolume",
    "Protocol",
    "QuorumKeyword",
    "ReadBalancing",
    "ResolvedConnection",
    "ResolvedHost",
    "ResolvedVolume",
    "Resource",
    "ResourceOptions",
    "RrConflict",
    "SourceReader",
    "StartupOptions",
    "UsageCount",
    "dump_config",
    "hostnames_equal",
    "load_resources",
    "normalized_form",
    "parse_config_text",
]

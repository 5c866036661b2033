"""Typed option values with DRBD's defaults, so the engine never re-parses strings.

Each field keeps DRBD's own unit and is named after its option; the docstring of each class says
the unit, and ``*_ns`` / ``*_bytes`` properties convert the ones an engine needs most. Defaults are
drbd_limits.h's (the same table as `hapair.config.drbd.options`); an option not written anywhere in
the configuration has its default.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from .model import OptionValue
from .options import (
    DISK_OPTIONS,
    NET_OPTIONS,
    PEER_DEVICE_OPTIONS,
    RESOURCE_OPTIONS,
    STARTUP_OPTIONS,
    OptionSpec,
)

TENTH_NS = 100_000_000
SECOND_NS = 1_000_000_000
SECTOR = 512
KIB = 1024


class Protocol(enum.Enum):
    A = "A"  # complete after the local write and the send
    B = "B"  # ... and the peer received it
    C = "C"  # ... and the peer wrote it


class AfterSb0Pri(enum.Enum):
    DISCONNECT = "disconnect"
    DISCARD_YOUNGER_PRIMARY = "discard-younger-primary"
    DISCARD_OLDER_PRIMARY = "discard-older-primary"
    DISCARD_ZERO_CHANGES = "discard-zero-changes"
    DISCARD_LEAST_CHANGES = "discard-least-changes"
    DISCARD_LOCAL = "discard-local"  # `discard-node-NAME` naming this node
    DISCARD_REMOTE = "discard-remote"  # `discard-node-NAME` naming the peer


class AfterSb1Pri(enum.Enum):
    DISCONNECT = "disconnect"
    CONSENSUS = "consensus"
    DISCARD_SECONDARY = "discard-secondary"
    CALL_PRI_LOST_AFTER_SB = "call-pri-lost-after-sb"
    VIOLENTLY_AS0P = "violently-as0p"


class AfterSb2Pri(enum.Enum):
    DISCONNECT = "disconnect"
    CALL_PRI_LOST_AFTER_SB = "call-pri-lost-after-sb"
    VIOLENTLY_AS0P = "violently-as0p"


class RrConflict(enum.Enum):
    DISCONNECT = "disconnect"
    CALL_PRI_LOST = "call-pri-lost"
    VIOLENTLY = "violently"
    RETRY_CONNECT = "retry-connect"
    AUTO_DISCARD = "auto-discard"


class Fencing(enum.Enum):
    DONT_CARE = "dont-care"
    RESOURCE_ONLY = "resource-only"
    RESOURCE_AND_STONITH = "resource-and-stonith"


class OnCongestion(enum.Enum):
    BLOCK = "block"
    PULL_AHEAD = "pull-ahead"
    DISCONNECT = "disconnect"


class OnIoError(enum.Enum):
    PASS_ON = "pass_on"
    CALL_LOCAL_IO_ERROR = "call-local-io-error"
    DETACH = "detach"


class ReadBalancing(enum.Enum):
    PREFER_LOCAL = "prefer-local"
    PREFER_REMOTE = "prefer-remote"
    ROUND_ROBIN = "round-robin"
    LEAST_PENDING = "least-pending"
    WHEN_CONGESTED_REMOTE = "when-congested-remote"
    STRIPING_32K = "32K-striping"
    STRIPING_64K = "64K-striping"
    STRIPING_128K = "128K-striping"
    STRIPING_256K = "256K-striping"
    STRIPING_512K = "512K-striping"
    STRIPING_1M = "1M-striping"


class OnNoDataAccessible(enum.Enum):
    IO_ERROR = "io-error"
    SUSPEND_IO = "suspend-io"


class OnNoQuorum(enum.Enum):
    IO_ERROR = "io-error"
    SUSPEND_IO = "suspend-io"


class OnSuspendedPrimaryOutdated(enum.Enum):
    DISCONNECT = "disconnect"
    FORCE_SECONDARY = "force-secondary"


class QuorumKeyword(enum.Enum):
    OFF = "off"
    MAJORITY = "majority"
    ALL = "all"


E = TypeVar("E", bound=enum.Enum)


class _Values:
    """Typed lookups in an effective option map, falling back to the option's default."""

    def __init__(self, values: Mapping[str, OptionValue], table: Mapping[str, OptionSpec]) -> None:
        self.values = values
        self.table = table

    def _raw(self, name: str) -> int | bool | str | None:
        option = self.values.get(name)
        return option.value if option is not None else self.table[name].default

    def number(self, name: str) -> int:
        value = self._raw(name)
        assert isinstance(value, int) and not isinstance(value, bool), name
        return value

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        assert isinstance(value, bool), name
        return value

    def text(self, name: str) -> str | None:
        value = self._raw(name)
        return None if value is None else str(value)

    def choice(self, name: str, kind: type[E]) -> E:
        return kind(self._raw(name))

    def quorum(self, name: str) -> QuorumKeyword | int:
        value = self._raw(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return QuorumKeyword(value)


@dataclass(frozen=True, slots=True)
class NetOptions:
    """Options of one connection. Times: `timeout`, `ping_timeout`, `socket_check_timeout` in
    tenths of a second; `connect_int`, `ping_int` in seconds. Sizes: `sndbuf_size`, `rcvbuf_size`
    in bytes (0 = auto); `max_buffers` in 4 KiB pages; `congestion_fill` in sectors."""

    protocol: Protocol = Protocol.C
    timeout: int = 60
    max_epoch_size: int = 2048
    max_buffers: int = 2048
    unplug_watermark: int = 128
    connect_int: int = 10
    ping_int: int = 10
    sndbuf_size: int = 0
    rcvbuf_size: int = 0
    ko_count: int = 7
    allow_two_primaries: bool = False
    cram_hmac_alg: str | None = None
    shared_secret: str | None = None
    after_sb_0pri: AfterSb0Pri = AfterSb0Pri.DISCONNECT
    after_sb_1pri: AfterSb1Pri = AfterSb1Pri.DISCONNECT
    after_sb_2pri: AfterSb2Pri = AfterSb2Pri.DISCONNECT
    always_asbp: bool = False
    rr_conflict: RrConflict = RrConflict.DISCONNECT
    ping_timeout: int = 5
    data_integrity_alg: str | None = None
    tcp_cork: bool = True
    on_congestion: OnCongestion = OnCongestion.BLOCK
    congestion_fill: int = 0
    congestion_extents: int = 1237
    csums_alg: str | None = None
    csums_after_crash_only: bool = False
    verify_alg: str | None = None
    use_rle: bool = True
    socket_check_timeout: int = 0
    fencing: Fencing = Fencing.DONT_CARE
    allow_remote_read: bool = True
    transport: str = "tcp"

    @property
    def timeout_ns(self) -> int:
        return self.timeout * TENTH_NS

    @property
    def ping_timeout_ns(self) -> int:
        return self.ping_timeout * TENTH_NS

    @property
    def ping_int_ns(self) -> int:
        return self.ping_int * SECOND_NS

    @property
    def connect_int_ns(self) -> int:
        return self.connect_int * SECOND_NS

    @property
    def ko_timeout_ns(self) -> int:
        """How long one request may stay unanswered before the peer is expelled (0: never)."""
        return self.ko_count * self.timeout_ns


@dataclass(frozen=True, slots=True)
class DiskOptions:
    """Options of one local volume. `disk_timeout` in tenths of a second (0 = none);
    `al_extents` in 4 MiB extents; `rs_discard_granularity` in bytes; `size` in sectors (0 = the
    whole backing device); `resync_after` is the minor to wait for (-1 = none)."""

    on_io_error: OnIoError = OnIoError.DETACH
    disk_barrier: bool = False
    disk_flushes: bool = True
    disk_drain: bool = True
    md_flushes: bool = True
    resync_after: int = -1
    al_extents: int = 1237
    al_updates: bool = True
    discard_zeroes_if_aligned: bool = True
    disable_write_same: bool = False
    disk_timeout: int = 0
    read_balancing: ReadBalancing = ReadBalancing.PREFER_LOCAL
    rs_discard_granularity: int = 0
    max_bio_bvecs: int = 0
    size: int = 0

    @property
    def disk_timeout_ns(self) -> int:
        return self.disk_timeout * TENTH_NS

    @property
    def size_bytes(self) -> int:
        return self.size * SECTOR


@dataclass(frozen=True, slots=True)
class PeerDeviceOptions:
    """Resync control for one volume towards one peer. `resync_rate`, `c_max_rate`, `c_min_rate`
    in KiB/s; `c_plan_ahead`, `c_delay_target` in tenths of a second (c_plan_ahead 0 = fixed rate);
    `c_fill_target` in sectors."""

    resync_rate: int = 250
    c_plan_ahead: int = 20
    c_delay_target: int = 10
    c_fill_target: int = 100
    c_max_rate: int = 102400
    c_min_rate: int = 250
    bitmap: bool = True

    @property
    def resync_rate_bytes(self) -> int:
        """resync-rate in bytes per second."""
        return self.resync_rate * KIB

    @property
    def c_max_rate_bytes(self) -> int:
        return self.c_max_rate * KIB

    @property
    def c_min_rate_bytes(self) -> int:
        return self.c_min_rate * KIB

    @property
    def c_fill_target_bytes(self) -> int:
        return self.c_fill_target * SECTOR

    @property
    def c_plan_ahead_ns(self) -> int:
        return self.c_plan_ahead * TENTH_NS


@dataclass(frozen=True, slots=True)
class ResourceOptions:
    """`peer_ack_window` in sectors; `peer_ack_delay` in milliseconds; `twopc_timeout`,
    `twopc_retry_timeout`, `auto_promote_timeout` in tenths of a second."""

    cpu_mask: str | None = None
    on_no_data_accessible: OnNoDataAccessible = OnNoDataAccessible.IO_ERROR
    auto_promote: bool = True
    peer_ack_window: int = 4096
    peer_ack_delay: int = 100
    twopc_timeout: int = 300
    twopc_retry_timeout: int = 1
    auto_promote_timeout: int = 20
    max_io_depth: int = 8000
    quorum: QuorumKeyword | int = QuorumKeyword.OFF
    on_no_quorum: OnNoQuorum = OnNoQuorum.SUSPEND_IO
    quorum_minimum_redundancy: QuorumKeyword | int = QuorumKeyword.OFF
    on_suspended_primary_outdated: OnSuspendedPrimaryOutdated = OnSuspendedPrimaryOutdated.DISCONNECT


@dataclass(frozen=True, slots=True)
class StartupOptions:
    """Timeouts in seconds (0 = wait forever). `become_primary_on` lists host names (DRBD 8.4;
    DRBD 9's drbdadm ignores it)."""

    wfc_timeout: int = 0
    degr_wfc_timeout: int = 0
    outdated_wfc_timeout: int = 0
    wait_after_sb: bool = False
    become_primary_on: tuple[str, ...] = ()
    stacked_timeouts: bool = False


@dataclass(frozen=True, slots=True)
class Handlers:
    """Handler command lines (run by a shell, resource name as first argument), None if unset."""

    pri_on_incon_degr: str | None = None
    pri_lost_after_sb: str | None = None
    pri_lost: str | None = None
    initial_split_brain: str | None = None
    split_brain: str | None = None
    fence_peer: str | None = None
    unfence_peer: str | None = None
    local_io_error: str | None = None
    before_resync_target: str | None = None
    after_resync_target: str | None = None
    before_resync_source: str | None = None
    out_of_sync: str | None = None
    quorum_lost: str | None = None
    disconnected: str | None = None

    def command(self, event: str) -> str | None:
        """The command for a handler by its drbd.conf name (e.g. ``"split-brain"``)."""
        value = getattr(self, event.replace("-", "_"), None)
        return value if isinstance(value, str) else None


def net_options(values: Mapping[str, OptionValue], local_names: tuple[str, ...] = ()) -> NetOptions:
    """`discard-node-NAME` becomes DISCARD_LOCAL when NAME is one of `local_names`, else
    DISCARD_REMOTE, as drbdadm converts it for the node it runs on."""
    v = _Values(values, NET_OPTIONS)
    sb0 = v.text("after-sb-0pri") or "disconnect"
    if sb0.startswith("discard-node-"):
        sb0 = "discard-local" if sb0[len("discard-node-") :] in local_names else "discard-remote"
    return NetOptions(
        protocol=v.choice("protocol", Protocol),
        timeout=v.number("timeout"),
        max_epoch_size=v.number("max-epoch-size"),
        max_buffers=v.number("max-buffers"),
        unplug_watermark=v.number("unplug-watermark"),
        connect_int=v.number("connect-int"),
        ping_int=v.number("ping-int"),
        sndbuf_size=v.number("sndbuf-size"),
        rcvbuf_size=v.number("rcvbuf-size"),
        ko_count=v.number("ko-count"),
        allow_two_primaries=v.flag("allow-two-primaries"),
        cram_hmac_alg=v.text("cram-hmac-alg"),
        shared_secret=v.text("shared-secret"),
        after_sb_0pri=AfterSb0Pri(sb0),
        after_sb_1pri=v.choice("after-sb-1pri", AfterSb1Pri),
        after_sb_2pri=v.choice("after-sb-2pri", AfterSb2Pri),
        always_asbp=v.flag("always-asbp"),
        rr_conflict=v.choice("rr-conflict", RrConflict),
        ping_timeout=v.number("ping-timeout"),
        data_integrity_alg=v.text("data-integrity-alg"),
        tcp_cork=v.flag("tcp-cork"),
        on_congestion=v.choice("on-congestion", OnCongestion),
        congestion_fill=v.number("congestion-fill"),
        congestion_extents=v.number("congestion-extents"),
        csums_alg=v.text("csums-alg"),
        csums_after_crash_only=v.flag("csums-after-crash-only"),
        verify_alg=v.text("verify-alg"),
        use_rle=v.flag("use-rle"),
        socket_check_timeout=v.number("socket-check-timeout"),
        fencing=v.choice("fencing", Fencing),
        allow_remote_read=v.flag("allow-remote-read"),
        transport=v.text("transport") or "tcp",
    )


def disk_options(values: Mapping[str, OptionValue], resync_after_minor: int = -1) -> DiskOptions:
    v = _Values(values, DISK_OPTIONS)
    return DiskOptions(
        on_io_error=v.choice("on-io-error", OnIoError),
        disk_barrier=v.flag("disk-barrier"),
        disk_flushes=v.flag("disk-flushes"),
        disk_drain=v.flag("disk-drain"),
        md_flushes=v.flag("md-flushes"),
        resync_after=resync_after_minor,
        al_extents=v.number("al-extents"),
        al_updates=v.flag("al-updates"),
        discard_zeroes_if_aligned=v.flag("discard-zeroes-if-aligned"),
        disable_write_same=v.flag("disable-write-same"),
        disk_timeout=v.number("disk-timeout"),
        read_balancing=v.choice("read-balancing", ReadBalancing),
        rs_discard_granularity=v.number("rs-discard-granularity"),
        max_bio_bvecs=v.number("max-bio-bvecs"),
        size=v.number("size"),
    )


def peer_device_options(values: Mapping[str, OptionValue]) -> PeerDeviceOptions:
    v = _Values(values, PEER_DEVICE_OPTIONS)
    return PeerDeviceOptions(
        resync_rate=v.number("resync-rate"),
        c_plan_ahead=v.number("c-plan-ahead"),
        c_delay_target=v.number("c-delay-target"),
        c_fill_target=v.number("c-fill-target"),
        c_max_rate=v.number("c-max-rate"),
        c_min_rate=v.number("c-min-rate"),
        bitmap=v.flag("bitmap"),
    )


def resource_options(values: Mapping[str, OptionValue]) -> ResourceOptions:
    v = _Values(values, RESOURCE_OPTIONS)
    return ResourceOptions(
        cpu_mask=v.text("cpu-mask"),
        on_no_data_accessible=v.choice("on-no-data-accessible", OnNoDataAccessible),
        auto_promote=v.flag("auto-promote"),
        peer_ack_window=v.number("peer-ack-window"),
        peer_ack_delay=v.number("peer-ack-delay"),
        twopc_timeout=v.number("twopc-timeout"),
        twopc_retry_timeout=v.number("twopc-retry-timeout"),
        auto_promote_timeout=v.number("auto-promote-timeout"),
        max_io_depth=v.number("max-io-depth"),
        quorum=v.quorum("quorum"),
        on_no_quorum=v.choice("on-no-quorum", OnNoQuorum),
        quorum_minimum_redundancy=v.quorum("quorum-minimum-redundancy"),
        on_suspended_primary_outdated=v.choice("on-suspended-primary-outdated", OnSuspendedPrimaryOutdated),
    )


def startup_options(values: Mapping[str, OptionValue]) -> StartupOptions:
    v = _Values(values, STARTUP_OPTIONS)
    become = v.text("become-primary-on")
    return StartupOptions(
        wfc_timeout=v.number("wfc-timeout"),
        degr_wfc_timeout=v.number("degr-wfc-timeout"),
        outdated_wfc_timeout=v.number("outdated-wfc-timeout"),
        wait_after_sb=v.flag("wait-after-sb"),
        become_primary_on=tuple(become.split()) if become else (),
        stacked_timeouts=v.flag("stacked-timeouts"),
    )


def handlers(values: Mapping[str, OptionValue]) -> Handlers:
    def get(name: str) -> str | None:
        option = values.get(name)
        return str(option.value) if option is not None else None

    return Handlers(
        pri_on_incon_degr=get("pri-on-incon-degr"),
        pri_lost_after_sb=get("pri-lost-after-sb"),
        pri_lost=get("pri-lost"),
        initial_split_brain=get("initial-split-brain"),
        split_brain=get("split-brain"),
        fence_peer=get("fence-peer"),
        unfence_peer=get("unfence-peer"),
        local_io_error=get("local-io-error"),
        before_resync_target=get("before-resync-target"),
        after_resync_target=get("after-resync-target"),
        before_resync_source=get("before-resync-source"),
        out_of_sync=get("out-of-sync"),
        quorum_lost=get("quorum-lost"),
        disconnected=get("disconnected"),
    )

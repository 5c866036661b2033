"""A frozen picture of one instance for `status`, metrics and the keepalived-style JSON dump.

Field names follow keepalived's JSON dump (`vrrp/vrrp_json.c`, research sample
`keepalived.json.sample`): `data` fields on `InstanceSnapshot`, `stats` fields on `InstanceStats`.
Counters keepalived keeps only for SNMP (`chk_err`, `vers_err`, `vrid_err`) and hapair's own
(`unicast_src_err`) are added so every dropped advert is counted somewhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hapair.core.vrrp.events import InstanceState
from hapair.core.vrrp.packet import ChecksumForm
from hapair.core.vrrp.validation import RejectReason
from hapair.core.vrrp.wire import IPAddress

STAT_NAMES = (
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
    "chk_err",
    "vers_err",
    "vrid_err",
    "unicast_src_err",
)
KEEPALIVED_STATS = STAT_NAMES[:14]


@dataclass(frozen=True, slots=True)
class InstanceStats:
    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    chk_err: int = 0
    vers_err: int = 0
    vrid_err: int = 0
    unicast_src_err: int = 0


@dataclass(frozen=True, slots=True)
class InstanceSnapshot:
    """One instance at one moment. Times are the caller's `now_ns` clock; intervals are seconds."""

    iname: str
    vrid: int
    version: int
    state: InstanceState
    wantstate: InstanceState
    last_transition_ns: int
    base_priority: int
    effective_priority: int
    master_priority: int
    master_address: IPAddress | None
    adver_int: float
    master_adver_int: float
    ifp_ifname: str | None
    vips: tuple[str, ...]
    vipset: bool
    nopreempt: bool
    preempt_delay: float
    garp_delay: float
    garp_rep: int
    garp_refresh: float
    garp_refresh_rep: int
    garp_lower_prio_delay: float
    garp_lower_prio_rep: int
    lower_prio_no_advert: bool
    higher_prio_send_advert: bool
    dont_track_primary: bool
    skip_check_adv_addr: bool
    auth_type: int
    last_checksum_form: ChecksumForm | None
    old_unicast_checksum: bool
    stats: InstanceStats
    rejected: tuple[tuple[RejectReason, int], ...] = field(default=())

    def to_keepalived_json(self, wall_clock_offset_ns: int = 0) -> dict[str, object]:
        """The object keepalived's JSON dump has for this instance (`{"data": ..., "stats": ...}`).

        `last_transition` is `last_transition_ns + wall_clock_offset_ns` in seconds, so a shell
        running on a monotonic clock can pass the offset to wall-clock time.
        """
        data: dict[str, object] = {
            "iname": self.iname,
            "dont_track_primary": int(self.dont_track_primary),
            "skip_check_adv_addr": int(self.skip_check_adv_addr),
            "strict_mode": 0,
            "vmac_ifname": "",
            "ifp_ifname": self.ifp_ifname or "",
            "master_priority": self.master_priority,
            "last_transition": (self.last_transition_ns + wall_clock_offset_ns) / 1e9,
            "garp_delay": self.garp_delay,
            "garp_refresh": self.garp_refresh,
            "garp_rep": self.garp_rep,
            "garp_refresh_rep": self.garp_refresh_rep,
            "garp_lower_prio_delay": self.garp_lower_prio_delay,
            "garp_lower_prio_rep": self.garp_lower_prio_rep,
            "lower_prio_no_advert": int(self.lower_prio_no_advert),
            "higher_prio_send_advert": int(self.higher_prio_send_advert),
            "vrid": self.vrid,
            "base_priority": self.base_priority,
            "effective_priority": self.effective_priority,
            "vipset": self.vipset,
            "promote_secondaries": False,
            "adver_int": self.adver_int,
            "master_adver_int": self.master_adver_int,
            "accept": 1,
            "nopreempt": self.nopreempt,
            "preempt_delay": self.preempt_delay,
            "state": self.state.value,
            "wantstate": self.wantstate.value,
            "version": self.version,
            "smtp_alert": False,
            "notify_deleted": False,
            "vips": list(self.vips),
            "auth_type": self.auth_type,
        }
        stats = asdict(self.stats)
        return {"data": data, "stats": {k: stats[k] for k in KEEPALIVED_STATS}}

"""Receive-path validation of adverts, in keepalived 2.2.7's order and with its log wording.

keepalived's `vrrp_check_packet` stops at the first failed check, logs one line and bumps one
counter; which line a broken packet produces depends on the order, so the order here is keepalived's:

    AH header present/absent, length vs version+count, TTL (multicast only), version, v2 auth type,
    v2 auth type vs ours, v2 password, v2 interval, type, address count, IP total length, checksum,
    multicast/unicast expectation, [counted as received], VIP list, unicast source, peer TTL range.

The last three run only when the VIP list is checked (always in MASTER; in BACKUP unless
skip_check_adv_addr and the advert comes from the current master).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from hmac import compare_digest

from hapair.core.vrrp.packet import (
    AdvertPacket,
    AuthType,
    ChecksumForm,
    ReceivedDatagram,
    checksum_of,
    matching_checksum_form,
)
from hapair.core.vrrp.settings import InstanceSettings, OldUnicastChecksum
from hapair.core.vrrp.timers import NS_PER_S
from hapair.core.vrrp.wire import IPPROTO_AH, VRRP_TTL, IPAddress


class RejectReason(enum.Enum):
    """Why an advert was dropped; `stat` is the counter it bumps (keepalived's JSON/SNMP names)."""

    MALFORMED = "malformed"
    VRID = "vrid"
    AH_MISMATCH = "ah_mismatch"
    LENGTH = "length"
    TTL = "ttl"
    VERSION = "version"
    INVALID_AUTH_TYPE = "invalid_auth_type"
    AUTH_TYPE_MISMATCH = "auth_type_mismatch"
    AUTH_FAILURE = "auth_failure"
    INTERVAL_MISMATCH = "interval_mismatch"
    TYPE = "type"
    ADDRESS_COUNT = "address_count"
    IP_TOTAL_LENGTH = "ip_total_length"
    CHECKSUM = "checksum"
    CAST_MISMATCH = "cast_mismatch"
    ADDRESS_LIST = "address_list"
    UNICAST_SOURCE = "unicast_source"
    PEER_TTL = "peer_ttl"

    @property
    def stat(self) -> str:
        return _STAT_OF[self]


_STAT_OF = {
    RejectReason.MALFORMED: "packet_len_err",
    RejectReason.VRID: "vrid_err",
    RejectReason.AH_MISMATCH: "authtype_mismatch",
    RejectReason.LENGTH: "packet_len_err",
    RejectReason.TTL: "ip_ttl_err",
    RejectReason.VERSION: "vers_err",
    RejectReason.INVALID_AUTH_TYPE: "invalid_authtype",
    RejectReason.AUTH_TYPE_MISMATCH: "authtype_mismatch",
    RejectReason.AUTH_FAILURE: "auth_failure",
    RejectReason.INTERVAL_MISMATCH: "advert_interval_err",
    RejectReason.TYPE: "invalid_type_rcvd",
    RejectReason.ADDRESS_COUNT: "addr_list_err",
    RejectReason.IP_TOTAL_LENGTH: "packet_len_err",
    RejectReason.CHECKSUM: "chk_err",
    RejectReason.CAST_MISMATCH: "addr_list_err",
    RejectReason.ADDRESS_LIST: "addr_list_err",
    RejectReason.UNICAST_SOURCE: "unicast_src_err",
    RejectReason.PEER_TTL: "ip_ttl_err",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A dropped advert: the reason, keepalived's log line, and what happened before the drop.

    `counted` is True when the packet got past the point where keepalived counts it in advert_rcvd;
    `checksum_form` is the form it verified under, if it got that far.
    """

    reason: RejectReason
    text: str
    counted: bool = False
    checksum_form: ChecksumForm | None = None


@dataclass(frozen=True, slots=True)
class ValidAdvert:
    packet: AdvertPacket
    source: IPAddress
    checksum_form: ChecksumForm


def check_received(
    settings: InstanceSettings,
    received: ReceivedDatagram,
    *,
    check_vip_addr: bool,
    old_checksum_active: bool,
) -> ValidAdvert | Rejection:
    """Validate `received` for the instance `settings` describes (whose VRID it already matches)."""
    name = settings.name

    def reject(reason: RejectReason, text: str) -> Rejection:
        return Rejection(reason, f"({name}) {text}")

    if received.vrid != settings.virtual_router_id:
        iface = settings.interface or "?"
        return reject(
            RejectReason.VRID, f"Unknown VRID({received.vrid}) received on interface({iface}). ignoring..."
        )
    if not received.ipv6 and received.protocol == IPPROTO_AH:
        return reject(RejectReason.AH_MISMATCH, "Received AH header but auth type not AH")
    expected = received.expected_length()
    if received.received_length != expected:
        word = "long" if received.received_length > expected else "short"
        return reject(
            RejectReason.LENGTH,
            f"vrrp packet too {word}, length {received.received_length} and expect {expected}",
        )
    if not settings.unicast and received.ttl not in (-1, VRRP_TTL):
        return reject(RejectReason.TTL, f"invalid TTL/HL. Received {received.ttl} and expect {VRRP_TTL}")
    if received.version != settings.version:
        return reject(
            RejectReason.VERSION, f"wrong version. Received {received.version} and expect {settings.version}"
        )
    if settings.version == 2:
        v2 = _check_v2(settings, received)
        if v2 is not None:
            return reject(*v2)
    if received.type != 1:
        return reject(RejectReason.TYPE, f"Invalid packet type. {received.type} and expect 1")
    if check_vip_addr and received.count != len(settings.vips):
        return reject(
            RejectReason.ADDRESS_COUNT,
            f"received an unexpected ip number count {received.count}, expected {len(settings.vips)}!",
        )
    if received.ip_header is not None and received.ip_header.total_length != received.received_length:
        return reject(
            RejectReason.IP_TOTAL_LENGTH,
            f"ip_tot_len mismatch against received length. {received.ip_header.total_length} "
            f"and received {received.received_length}",
        )
    form = _checksum_form(settings, received, old_checksum_active)
    if form is None:
        return reject(RejectReason.CHECKSUM, f"Invalid VRRPv{received.version} checksum")
    if received.destination.is_multicast == settings.unicast:
        expected_cast, got = ("un", "mult") if settings.unicast else ("mult", "un")
        return Rejection(
            RejectReason.CAST_MISMATCH,
            f"({name}) Expected {expected_cast}icast packet but received {got}icast packet",
            checksum_form=form,
        )
    if check_vip_addr:
        late = _check_addresses(settings, received)
        if late is not None:
            return Rejection(late[0], f"({name}) {late[1]}", counted=True, checksum_form=form)
    return ValidAdvert(packet=received.packet(), source=received.source, checksum_form=form)


def _check_v2(settings: InstanceSettings, received: ReceivedDatagram) -> tuple[RejectReason, str] | None:
    auth = received.v2_auth_type
    if auth not in (AuthType.NONE, AuthType.PASS, AuthType.AH):
        return RejectReason.INVALID_AUTH_TYPE, f"Invalid auth type: {auth}"
    if auth != settings.auth_type:
        return (
            RejectReason.AUTH_TYPE_MISMATCH,
            f"received a {auth} auth, expecting {int(settings.auth_type)}!",
        )
    if settings.auth_type is AuthType.PASS:
        password = received.v2_password()
        if password is None or not compare_digest(password, settings.auth_data):
            return RejectReason.AUTH_FAILURE, "received an invalid passwd!"
    if received.v2_adver_int * NS_PER_S != settings.advert_int:
        mine = settings.advert_int // NS_PER_S
        return (
            RejectReason.INTERVAL_MISMATCH,
            f"advertisement interval mismatch mine={mine} sec rcv'd={received.v2_adver_int} sec",
        )
    return None


def _checksum_form(
    settings: InstanceSettings, received: ReceivedDatagram, old_checksum_active: bool
) -> ChecksumForm | None:
    """The checksum form this instance accepts the advert under, or None.

    keepalived 2.2.7 accepts the pseudo-header form; a unicast instance retries a failure with
    224.0.0.18 in the pseudo-header (keepalived <= 1.3.6) and, if that verifies, switches to that old
    form for good (the caller logs it). Once switched, only the old form is checked. hapair also
    accepts RFC 9568's form without pseudo-header unless `accept_v3_checksum_as_v2` is off.
    """
    if received.ipv6 or received.version == 2:
        return matching_checksum_form(received, try_multicast_dst=False)
    lenient = settings.accept_v3_checksum_as_v2 or settings.v3_checksum_as_v2
    if old_checksum_active:
        message = received.message()
        old = ChecksumForm.PSEUDO_HEADER_MULTICAST
        if checksum_of(message, old, received.source, received.destination) == 0:
            return old
        if lenient and checksum_of(message, ChecksumForm.NO_PSEUDO_HEADER, None, None) == 0:
            return ChecksumForm.NO_PSEUDO_HEADER
        return None
    retry = settings.unicast and settings.old_unicast_checksum is OldUnicastChecksum.AUTO
    form = matching_checksum_form(received, try_multicast_dst=retry)
    if form is ChecksumForm.NO_PSEUDO_HEADER and not lenient:
        return None
    return form


def _check_addresses(
    settings: InstanceSettings, received: ReceivedDatagram
) -> tuple[RejectReason, str] | None:
    carried = set(received.addresses())
    for vip in settings.vips:
        if vip.ip not in carried:
            return (
                RejectReason.ADDRESS_LIST,
                f"ip address associated with VRID {settings.virtual_router_id} "
                f"not present in MASTER advert: {vip.ip}",
            )
    if settings.unicast and settings.check_unicast_src:
        peer = next((p for p in settings.unicast_peers if p.address == received.source), None)
        if peer is None:
            return RejectReason.UNICAST_SOURCE, f"unicast source address {received.source} not a unicast peer"
        if received.ttl != -1 and not peer.min_ttl <= received.ttl <= peer.max_ttl:
            return (
                RejectReason.PEER_TTL,
                f"TTL/HL {received.ttl} not in range {peer.min_ttl} - {peer.max_ttl}",
            )
    return None

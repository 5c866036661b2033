"""The link to the peer: connecting with backoff, the handshake, keepalive and stuck-peer detection.

`PeerLink` owns everything below the replication state machine. It turns transport happenings
into a handshake (features, CRAM-HMAC authentication both ways, protocol and sync parameters
that must agree), then hands decoded messages up to the replica. It answers pings itself, probes
an idle peer every `ping-int`, drops the link when a PingAck is later than `ping-timeout` or the
oldest request the replica waits for is older than `ko-count` x `timeout`, and redials with an
exponential backoff capped at `connect-int`.

No message reaches the replica before the handshake is complete, and during the handshake only
handshake messages are accepted, so an unauthenticated or incompatible peer cannot make the node
write anything. Failures that retrying cannot fix (wrong secret, incompatible settings) leave the
link StandAlone, as DRBD "discards the network configuration"; malformed traffic and lost
transports lead back to Connecting.

Every entry point appends its effects to `out` and returns the notices for the replica in order:
application messages, `LinkEstablished` and `LinkLost`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from hapair.core.volume import control_messages as cm
from hapair.core.volume.auth import CHALLENGE_LEN, AuthenticationFailed, PeerAuthenticator
from hapair.core.volume.effects import CloseTransport, DialPeer, Effect, Listen, SendFrame
from hapair.core.volume.messages import Message, WireError
from hapair.core.volume.settings import VolumeSettings
from hapair.core.volume.wire import PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN, FrameReader, encode_frame
from hapair.errors import LocalProtocolError, RemoteProtocolError

BACKOFF_FIRST_NS = 100_000_000
RandomBytes = Callable[[int], bytes]


class LinkState(enum.Enum):
    STANDALONE = "StandAlone"  # no attempt to connect (admin, or refused peer)
    CONNECTING = "Connecting"  # listening and dialing with backoff
    HANDSHAKING = "Handshaking"  # a transport exists, handshake in progress (DRBD WFReportParams)
    ESTABLISHED = "Established"  # replica traffic flows


class IncompatiblePeer(RemoteProtocolError):
    """The peer's settings contradict ours (protocol, after-sb policies, algorithms, name)."""


@dataclass(frozen=True, slots=True)
class LinkEstablished:
    peer_name: str
    peer_sync: cm.SyncParams


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link went away; `standalone` when it will not retry by itself."""

    reason: str
    standalone: bool
    violation: bool = False  # the peer broke the protocol (as opposed to a lost transport)
    refused: bool = False  # authentication failed or the settings are incompatible


Notice = Message | LinkEstablished | LinkLost


@dataclass(slots=True)
class _Handshake:
    features: cm.Features | None = None
    auth: PeerAuthenticator | None = None
    params_sent: bool = False
    params: cm.ProtocolParams | None = None


class PeerLink:
    """Connection life cycle to the one peer of a resource."""

    def __init__(self, settings: VolumeSettings, random_bytes: RandomBytes) -> None:
        self.settings = settings
        self._random_bytes = random_bytes
        self.state = LinkState.STANDALONE
        self.transport: int | None = None
        self._reader = FrameReader()
        self._hs = _Handshake()
        self._dial_at: int | None = None
        self._dialing = False
        self._backoff_ns = 0
        self._handshake_deadline: int | None = None
        self._last_rx_ns = 0
        self._ping_sent_ns: int | None = None
        self.frames_sent = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    # ---- admin ----

    def connect(self, now_ns: int, out: list[Effect]) -> None:
        """StandAlone -> Connecting: listen and dial right away."""
        if self.state is not LinkState.STANDALONE:
            raise LocalProtocolError(f"connect: already {self.state.value}")
        self._backoff_ns = 0
        self._enter_connecting(now_ns, out, delay_ns=0)

    def disconnect(self, out: list[Effect], goodbye: bool = True) -> None:
        """Any state -> StandAlone, telling an established peer goodbye first."""
        if self.state is LinkState.ESTABLISHED and goodbye:
            self.send(cm.Disconnect(), out)
        self._drop_transport(out)
        if self.state is not LinkState.STANDALONE:
            out.append(Listen(False))
        self.state = LinkState.STANDALONE
        self._dial_at = None

    # ---- transport inputs ----

    def transport_up(self, transport_id: int, dialed: bool, now_ns: int, out: list[Effect]) -> None:
        if dialed:
            self._dialing = False
        match self.state:
            case LinkState.CONNECTING:
                pass
            case LinkState.HANDSHAKING:
                # Both sides dialed at once: keep the stream opened by the node whose name sorts
                # first; both ends apply the same rule, so they keep the same stream.
                if dialed != self.settings.resolves_conflicts:
                    out.append(CloseTransport(transport_id))
                    return
                self._drop_transport(out)
            case LinkState.STANDALONE | LinkState.ESTABLISHED:
                out.append(CloseTransport(transport_id))
                return
            case _ as unreachable:
                assert_never(unreachable)
        self.state = LinkState.HANDSHAKING
        self.transport = transport_id
        self._reader = FrameReader()
        self._hs = _Handshake()
        self._dial_at = None
        self._last_rx_ns = now_ns
        self._handshake_deadline = now_ns + self.settings.connect_int_ns
        self._send_raw(cm.Features(PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX), out)
        if self.settings.authenticates:
            secret = (self.settings.shared_secret or "").encode()
            auth = PeerAuthenticator(
                self.settings.cram_hmac_alg or "", secret, self._random_bytes(CHALLENGE_LEN)
            )
            self._hs.auth = auth
            self._send_raw(auth.challenge_message(), out)

    def dial_failed(self, now_ns: int, out: list[Effect]) -> None:
        self._dialing = False
        if self.state is LinkState.CONNECTING and self._dial_at is None:
            self._schedule_dial(now_ns)

    def transport_down(self, transport_id: int, reason: str, now_ns: int, out: list[Effect]) -> list[Notice]:
        if transport_id != self.transport:
            return []
        self.transport = None
        return [self._lose(reason, now_ns, out)]

    def received(
        self, transport_id: int, data: bytes | memoryview, now_ns: int, out: list[Effect]
    ) -> list[Notice]:
        if transport_id != self.transport:
            return []
        self._last_rx_ns = now_ns
        self.bytes_received += len(data)
        notices: list[Notice] = []
        try:
            self._reader.feed(data)
            for message in self._reader.messages():
                notice = self._on_message(message, now_ns, out)
                if notice is not None:
                    notices.append(notice)
                if self.state not in (LinkState.HANDSHAKING, LinkState.ESTABLISHED):
                    break
        except (AuthenticationFailed, IncompatiblePeer) as exc:
            notices.append(self._lose(str(exc), now_ns, out, standalone=True, refused=True))
        except RemoteProtocolError as exc:
            notices.append(self._lose(str(exc), now_ns, out, violation=True))
        return notices

    def fail(self, reason: str, now_ns: int, out: list[Effect]) -> LinkLost:
        """The replica found the peer's traffic out of place: drop the link as a protocol error."""
        return self._lose(reason, now_ns, out, violation=True)

    # ---- timers ----

    def next_deadline(self, oldest_request_ns: int | None) -> int | None:
        s = self.settings
        match self.state:
            case LinkState.STANDALONE:
                return None
            case LinkState.CONNECTING:
                return self._dial_at
            case LinkState.HANDSHAKING:
                return self._handshake_deadline
            case LinkState.ESTABLISHED:
                if self._ping_sent_ns is not None:
                    deadline = self._ping_sent_ns + s.ping_timeout_ns
                else:
                    deadline = self._last_rx_ns + s.ping_int_ns
                    if oldest_request_ns is not None:
                        deadline = min(deadline, self._last_rx_ns + s.timeout_ns)
                if oldest_request_ns is not None and s.ko_count:
                    deadline = min(deadline, oldest_request_ns + s.ko_count * s.timeout_ns)
                return deadline
            case _ as unreachable:
                assert_never(unreachable)

    def on_timer(self, now_ns: int, oldest_request_ns: int | None, out: list[Effect]) -> list[Notice]:
        s = self.settings
        match self.state:
            case LinkState.STANDALONE:
                return []
            case LinkState.CONNECTING:
                if self._dial_at is not None and now_ns >= self._dial_at:
                    self._dial_at = None
                    if not self._dialing:
                        self._dialing = True
                        out.append(DialPeer())
                return []
            case LinkState.HANDSHAKING:
                if self._handshake_deadline is not None and now_ns >= self._handshake_deadline:
                    return [self._lose("handshake did not complete in time", now_ns, out)]
                return []
            case LinkState.ESTABLISHED:
                if self._ping_sent_ns is not None and now_ns >= self._ping_sent_ns + s.ping_timeout_ns:
                    return [self._lose("PingAck did not arrive in time", now_ns, out)]
                if (
                    oldest_request_ns is not None
                    and s.ko_count
                    and now_ns >= oldest_request_ns + s.ko_count * s.timeout_ns
                ):
                    return [self._lose("peer did not answer within ko-count x timeout", now_ns, out)]
                idle = now_ns - self._last_rx_ns
                probe = idle >= s.ping_int_ns or (oldest_request_ns is not None and idle >= s.timeout_ns)
                if self._ping_sent_ns is None and probe:
                    self._ping_sent_ns = now_ns
                    self.send(cm.Ping(), out)
                return []
            case _ as unreachable:
                assert_never(unreachable)

    # ---- sending ----

    @property
    def established(self) -> bool:
        return self.state is LinkState.ESTABLISHED

    def send(self, message: Message, out: list[Effect]) -> None:
        if self.state is not LinkState.ESTABLISHED:
            raise LocalProtocolError(f"cannot send {type(message).__name__}: link is {self.state.value}")
        self._send_raw(message, out)

    def _send_raw(self, message: Message, out: list[Effect]) -> None:
        assert self.transport is not None
        head, payload = encode_frame(message)
        self.frames_sent += 1
        self.bytes_sent += len(head) + len(payload)
        out.append(SendFrame(self.transport, head, payload))

    # ---- the handshake ----

    def _on_message(self, message: Message, now_ns: int, out: list[Effect]) -> Notice | None:
        if self.state is LinkState.ESTABLISHED:
            match message:
                case cm.Ping():
                    self.send(cm.PingAck(), out)
                    return None
                case cm.PingAck():
                    self._ping_sent_ns = None
                    return None
                case cm.Disconnect():
                    return self._lose("peer disconnected", now_ns, out)
                case cm.Features() | cm.AuthChallenge() | cm.AuthResponse() | cm.ProtocolParams():
                    raise WireError(f"{type(message).__name__} after the handshake")
                case _:
                    return message
        return self._handshake_step(message, now_ns, out)

    def _handshake_step(self, message: Message, now_ns: int, out: list[Effect]) -> Notice | None:
        hs = self._hs
        match message:
            case cm.Features(low, high) if hs.features is None:
                if high < PROTOCOL_VERSION_MIN or low > PROTOCOL_VERSION_MAX:
                    raise IncompatiblePeer(
                        f"incompatible protocol versions: peer {low}..{high}, "
                        f"we {PROTOCOL_VERSION_MIN}..{PROTOCOL_VERSION_MAX}"
                    )
                hs.features = message
                if hs.auth is None:
                    self._send_params(out)
                return None
            case cm.AuthChallenge() if hs.features is not None:
                if hs.auth is None:
                    raise IncompatiblePeer("peer wants authentication, but no shared-secret is configured")
                self._send_raw(hs.auth.on_challenge(message), out)
                return None
            case cm.AuthResponse() if hs.features is not None and hs.auth is not None:
                hs.auth.on_response(message)
                self._send_params(out)
                return None
            case cm.ProtocolParams() if hs.features is not None and hs.params is None:
                if hs.auth is not None and not hs.auth.verified:
                    raise AuthenticationFailed("peer did not authenticate (is cram-hmac-alg set there?)")
                self._check_params(message)
                hs.params = message
                return None
            case cm.SyncParams() if hs.params is not None:
                self._check_sync(message)
                self.state = LinkState.ESTABLISHED
                self._handshake_deadline = None
                self._ping_sent_ns = None
                self._backoff_ns = 0
                out.append(Listen(False))
                return LinkEstablished(hs.params.node_name, message)
            case _:
                raise WireError(f"unexpected {type(message).__name__} during the handshake")

    def _send_params(self, out: list[Effect]) -> None:
        s = self.settings
        if self._hs.params_sent:
            return
        self._hs.params_sent = True
        self._send_raw(
            cm.ProtocolParams(
                node_name=s.node_name,
                protocol=s.protocol.value,
                after_sb_0pri=s.after_sb_0pri.as_seen_by_peer().keyword,
                after_sb_1pri=s.after_sb_1pri.keyword,
                after_sb_2pri=s.after_sb_2pri.keyword,
                rr_conflict=s.rr_conflict.keyword,
                two_primaries=s.allow_two_primaries,
                always_asbp=s.always_asbp,
            ),
            out,
        )
        self._send_raw(cm.SyncParams(s.resync_rate_kib, s.verify_alg or "", s.csums_alg or ""), out)

    def _check_params(self, peer: cm.ProtocolParams) -> None:
        s = self.settings
        if peer.node_name != s.peer_name:
            raise IncompatiblePeer(f"peer calls itself {peer.node_name!r}, expected {s.peer_name!r}")
        mine = (
            ("protocol", s.protocol.value, peer.protocol),
            ("after-sb-0pri", s.after_sb_0pri.keyword, peer.after_sb_0pri),
            ("after-sb-1pri", s.after_sb_1pri.keyword, peer.after_sb_1pri),
            ("after-sb-2pri", s.after_sb_2pri.keyword, peer.after_sb_2pri),
            ("allow-two-primaries", str(s.allow_two_primaries), str(peer.two_primaries)),
            ("always-asbp", str(s.always_asbp), str(peer.always_asbp)),
        )
        for name, ours, theirs in mine:
            if ours != theirs:
                raise IncompatiblePeer(f"incompatible {name} settings: we {ours}, peer {theirs}")

    def _check_sync(self, peer: cm.SyncParams) -> None:
        s = self.settings
        for name, ours, theirs in (
            ("verify-alg", s.verify_alg or "", peer.verify_alg),
            ("csums-alg", s.csums_alg or "", peer.csums_alg),
        ):
            if ours != theirs:
                raise IncompatiblePeer(f"different {name} settings: me={ours!r} peer={theirs!r}")

    # ---- losing the link ----

    def _lose(
        self,
        reason: str,
        now_ns: int,
        out: list[Effect],
        *,
        standalone: bool = False,
        violation: bool = False,
        refused: bool = False,
    ) -> LinkLost:
        self._drop_transport(out)
        if standalone:
            if self.state is not LinkState.STANDALONE:
                out.append(Listen(False))
            self.state = LinkState.STANDALONE
            self._dial_at = None
        else:
            self._enter_connecting(now_ns, out, delay_ns=None)
        return LinkLost(reason, standalone, violation, refused)

    def _drop_transport(self, out: list[Effect]) -> None:
        if self.transport is not None:
            out.append(CloseTransport(self.transport))
            self.transport = None
        self._ping_sent_ns = None
        self._handshake_deadline = None

    def _enter_connecting(self, now_ns: int, out: list[Effect], delay_ns: int | None) -> None:
        if self.state in (LinkState.STANDALONE, LinkState.ESTABLISHED):
            out.append(Listen(True))
        self.state = LinkState.CONNECTING
        if delay_ns == 0:
            self._dial_at = now_ns
        else:
            self._schedule_dial(now_ns)

    def _schedule_dial(self, now_ns: int) -> None:
        """Exponential backoff from 0.1 s to connect-int, with up to 25% jitter from the generator."""
        cap = self.settings.connect_int_ns
        self._backoff_ns = min(cap, max(BACKOFF_FIRST_NS, self._backoff_ns * 2))
        jitter = int.from_bytes(self._random_bytes(2), "big") * (self._backoff_ns // 4) >> 16
        self._dial_at = now_ns + self._backoff_ns - jitter

"""Generation identifiers (DRBD's "UUIDs"): what each copy of the data descends from.

A node keeps four 64-bit numbers: the current generation, the bitmap generation (the generation the
quick-sync bitmap counts changes against; 0 when none) and two history entries. Bit 0 of the
current id says "I am Primary" and is ignored by every comparison. The rules for when they change
are DRBD 8.4's (drbd_main.c `drbd_uuid_*`, drbd_nl.c `drbd_set_role`/`new_c_uuid`, drbd_state.c
`after_state_ch`, drbd_worker.c `drbd_resync_finished`, drbd_receiver.c `receive_sync_uuid`); each
function here is one such event and returns a new immutable `GenerationIds`. New random ids come
from an injected `UuidSource`; callers persist the result (DRBD writes it *before* going on).

`invalidate` and `invalidate-remote` change no ids by themselves (drbd_nl.c): they set every
bitmap bit and make the disk Inconsistent (disconnected) or start a full resync, whose start on the
SyncSource (`on_sync_source_start`) is the id change. `primary --force` is `on_promote(forced=True)`.

The connect-time decision that compares two nodes' ids is in `handshake.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from hapair.core.volume.state_rules import lost_contact_to_peer_data
from hapair.core.volume.states import ConnState, DiskState, ReplicaState, Role

U64_MASK = (1 << 64) - 1
UUID_JUST_CREATED = 4
"""The current id of freshly created metadata (`create-md`)."""
UUID_NEW_BM_OFFSET = 1 << 48
"""Added to the bitmap id when a SyncSource starts a resync (so a half-done start is recognisable)."""


class UuidSource(Protocol):
    """Where new generation ids come from (a seeded RNG in tests, os.urandom in the daemon)."""

    def random_u64(self) -> int:
        """A uniformly random integer in [0, 2**64)."""
        ...


class UuidFlags(enum.IntFlag):
    """The flag word sent with the ids at connect time (P_UUIDS `UI_FLAGS`)."""

    NONE = 0
    DISCARD_MY_DATA = 1
    CRASHED_PRIMARY = 2
    INCONSISTENT = 4
    SKIP_INITIAL_SYNC = 8


def strip_role_bit(value: int) -> int:
    """An id with bit 0 (the Primary marker) cleared: the form every comparison uses."""
    return value & ~1 & U64_MASK


@dataclass(frozen=True, slots=True)
class GenerationIds:
    """One node's generation ids: current, bitmap and history (newest first)."""

    current: int
    bitmap: int = 0
    history: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        for value in (self.current, self.bitmap, *self.history):
            if not 0 <= value <= U64_MASK:
                raise ValueError(f"generation id out of 64-bit range: {value!r}")
        if len(self.history) != 2:
            raise ValueError("history holds exactly two ids")

    @classmethod
    def just_created(cls) -> GenerationIds:
        return cls(UUID_JUST_CREATED)

    @classmethod
    def from_words(cls, words: tuple[int, int, int, int]) -> GenerationIds:
        """From DRBD's order: current, bitmap, history start, history end."""
        return cls(words[0], words[1], (words[2], words[3]))

    def words(self) -> tuple[int, int, int, int]:
        return (self.current, self.bitmap, self.history[0], self.history[1])

    def text(self) -> str:
        """`CUR:BM:H1:H2` in 16 upper-case hex digits each, as DRBD logs and drbdmeta prints them."""
        return ":".join(f"{w:016X}" for w in self.words())

    @property
    def is_just_created(self) -> bool:
        return strip_role_bit(self.current) == UUID_JUST_CREATED

    def masked(self) -> GenerationIds:
        """Every id with bit 0 cleared: what comparisons see. Two nodes that finished a resync
        hold equal masked tuples (bit 0 of a bitmap or history id keeps who was Primary)."""
        return GenerationIds.from_words(
            (
                strip_role_bit(self.current),
                strip_role_bit(self.bitmap),
                strip_role_bit(self.history[0]),
                strip_role_bit(self.history[1]),
            )
        )

    def with_role(self, primary: bool) -> GenerationIds:
        """Current id with bit 0 set for a Primary, cleared otherwise (DRBD `__drbd_uuid_set`)."""
        current = (self.current | 1) if primary else strip_role_bit(self.current)
        return GenerationIds(current, self.bitmap, self.history)

    # -- DRBD's primitives (drbd_main.c) -------------------------------------------------------

    def _pushed(self, old: int) -> tuple[int, int]:
        """History after `drbd_uuid_move_history` + storing `old` as the newest entry."""
        return (old, self.history[0])

    def set_bitmap(self, value: int) -> GenerationIds:
        """`drbd_uuid_set_bm`: 0 rotates the bitmap id into history; else store it (bit 0 cleared)."""
        if value == 0:
            if self.bitmap == 0:
                return self
            return GenerationIds(self.current, 0, self._pushed(self.bitmap))
        return GenerationIds(self.current, strip_role_bit(value), self.history)

    def set_bitmap_pushing(self, value: int) -> GenerationIds:
        """`drbd_uuid_set(UI_BITMAP, v)`: push a non-zero old bitmap id into history, store `v`."""
        history = self._pushed(self.bitmap) if self.bitmap else self.history
        return GenerationIds(self.current, value & U64_MASK, history)

    def new_current(self, rng: UuidSource, *, primary: bool) -> GenerationIds:
        """`drbd_uuid_new_current`: the current id becomes the bitmap id; draw a fresh current."""
        fresh = GenerationIds(rng.random_u64() & U64_MASK, self.current, self.history)
        return fresh.with_role(primary)


# -- The events that change generation ids ---------------------------------------------------


def on_promote(ids: GenerationIds, state: ReplicaState, rng: UuidSource, *, forced: bool) -> GenerationIds:
    """Becoming Primary (`drbd_set_role`): a new generation starts unless the peer is connected
    with a disk and no bitmap generation is open; `primary --force` always starts one.

    `state` is the state *before* the promotion (its `conn` and `pdsk` decide).
    """
    disconnected = state.conn < ConnState.CONNECTED or state.pdsk <= DiskState.FAILED
    if (disconnected and ids.bitmap == 0) or forced:
        ids = ids.new_current(rng, primary=True)
    return ids.with_role(True)


def on_demote(ids: GenerationIds) -> GenerationIds:
    """Becoming Secondary: only the Primary marker bit goes."""
    return ids.with_role(False)


def on_state_change(
    ids: GenerationIds, os: ReplicaState, ns: ReplicaState, rng: UuidSource
) -> GenerationIds | None:
    """The generation changes `after_state_ch` makes; None when this change makes none.

    A Primary (or a node whose peer is Primary) with UpToDate data that loses contact with the
    peer's copy starts a new generation, so the writes it takes alone are recognisable later. A
    diskless peer becoming Primary does the same. (While I/O is suspended DRBD defers this; the
    caller calls again when it resumes.)
    """
    primary = ns.role is Role.PRIMARY
    if lost_contact_to_peer_data(os.pdsk, ns.pdsk):
        some_primary = primary or ns.peer is Role.PRIMARY
        if some_primary and ids.bitmap == 0 and ns.disk >= DiskState.UP_TO_DATE:
            return ids.new_current(rng, primary=primary)
    if ns.pdsk < DiskState.INCONSISTENT:
        peer_promoted = os.peer is Role.SECONDARY and ns.peer is Role.PRIMARY
        if peer_promoted and ids.bitmap == 0 and ns.disk >= DiskState.UP_TO_DATE:
            return ids.new_current(rng, primary=primary)
    return None


def on_sync_source_start(ids: GenerationIds, rng: UuidSource, *, primary: bool) -> tuple[GenerationIds, int]:
    """Becoming SyncSource (`drbd_gen_and_send_sync_uuid`): returns (new ids, sync id to send).

    The bitmap id moves to history and is replaced by itself + 2**48 (a fresh random id if there
    was none); the peer adopts it as its current id. The offset lets a later handshake recognise
    and undo a start whose P_SYNC_UUID never arrived (rules 51 and 71).
    """
    value = ids.bitmap
    if value and value != UUID_JUST_CREATED:
        value = (value + UUID_NEW_BM_OFFSET) & U64_MASK
    else:
        value = rng.random_u64() & U64_MASK
    return ids.set_bitmap_pushing(value).with_role(primary), value


def on_sync_uuid_received(ids: GenerationIds, sync_uuid: int, *, primary: bool) -> GenerationIds:
    """SyncTarget receives P_SYNC_UUID: it becomes the current id; the bitmap id is cleared."""
    return GenerationIds(sync_uuid & U64_MASK, 0, ids.history).with_role(primary)


def on_resync_finished(
    ids: GenerationIds, *, was_target: bool, peer: GenerationIds | None, primary: bool
) -> GenerationIds:
    """A resync completed without failed blocks (`drbd_resync_finished`).

    The SyncTarget adopts the source's ids (as received at connect time), keeping its own current
    id as the newest history; both sides then rotate the bitmap id into history, after which their
    tuples are identical. Not for verify runs (they change no ids).
    """
    if was_target:
        if peer is None:
            raise ValueError("a SyncTarget needs the peer's generation ids to finish a resync")
        adopted = GenerationIds(ids.current, peer.bitmap, peer.history)
        adopted = adopted.set_bitmap_pushing(ids.current)
        ids = GenerationIds(peer.current, adopted.bitmap, adopted.history)
    return ids.set_bitmap(0).with_role(primary)


def on_new_current_uuid(
    ids: GenerationIds, rng: UuidSource, *, primary: bool, skip_initial_sync: bool
) -> GenerationIds:
    """`drbdadm new-current-uuid` (drbd_nl.c `drbd_adm_new_c_uuid`).

    Rotates any bitmap id into history and starts a new generation. With `skip_initial_sync`
    (`--clear-bitmap` on a just-created, connected pair) the bitmap id is cleared again so both
    sides end UpToDate with no resync; the caller also clears the bitmap and sends the ids with
    `UuidFlags.SKIP_INITIAL_SYNC`.
    """
    ids = ids.set_bitmap_pushing(0) if ids.bitmap else ids
    ids = ids.new_current(rng, primary=primary)
    if skip_initial_sync:
        ids = GenerationIds(ids.current, 0, ids.history)
    return ids


def may_skip_initial_sync(ids: GenerationIds, conn: ConnState) -> bool:
    """`new-current-uuid --clear-bitmap` skips the initial sync only on a fresh, connected pair."""
    return conn is ConnState.CONNECTED and ids.is_just_created


def on_skip_initial_sync_received(ids: GenerationIds, peer_current: int, *, primary: bool) -> GenerationIds:
    """The peer skipped the initial sync: adopt its current id, no bitmap id (`receive_uuids`)."""
    return GenerationIds(peer_current & U64_MASK, 0, ids.history).with_role(primary)


def accepts_skip_initial_sync(ids: GenerationIds, conn: ConnState, peer_flags: UuidFlags) -> bool:
    """Whether received ids with SKIP_INITIAL_SYNC apply here: I am just created and Connected."""
    return bool(peer_flags & UuidFlags.SKIP_INITIAL_SYNC) and may_skip_initial_sync(ids, conn)


@dataclass(frozen=True, slots=True)
class UuidReport:
    """What a node tells its peer at connect time (P_UUIDS): ids, dirty-bit count, flags."""

    ids: GenerationIds
    bitmap_bits: int
    flags: UuidFlags = UuidFlags.NONE

    def log_line(self, who: str) -> str:
        """`self CUR:BM:H1:H2 bits:N flags:F`, as drbd_sync_handshake logs both sides."""
        return f"{who} {self.ids.text()} bits:{self.bitmap_bits} flags:{int(self.flags):X}"


def uuid_flags(
    *, discard_my_data: bool, crashed_primary: bool, disk: DiskState, skip_initial_sync: bool = False
) -> UuidFlags:
    """The flag word `_drbd_send_uuids` builds."""
    flags = UuidFlags.NONE
    if discard_my_data:
        flags |= UuidFlags.DISCARD_MY_DATA
    if crashed_primary:
        flags |= UuidFlags.CRASHED_PRIMARY
    if disk is DiskState.INCONSISTENT:
        flags |= UuidFlags.INCONSISTENT
    if skip_initial_sync:
        flags |= UuidFlags.SKIP_INITIAL_SYNC
    return flags

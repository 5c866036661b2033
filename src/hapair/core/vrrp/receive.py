"""Counters of one instance: keepalived's statistics plus dropped adverts by reason."""

from __future__ import annotations

from collections import Counter

from hapair.core.vrrp.events import Effect, LogLine
from hapair.core.vrrp.packet import ChecksumForm
from hapair.core.vrrp.snapshot import STAT_NAMES, InstanceStats
from hapair.core.vrrp.validation import Rejection, RejectReason, ValidAdvert


class ReceiveLog:
    """Counts what an instance sent and received and turns rejections into rate-limitable log lines."""

    def __init__(self, instance: str) -> None:
        self._instance = instance
        self._stats: Counter[str] = Counter()
        self._rejected: Counter[RejectReason] = Counter()
        self.last_checksum_form: ChecksumForm | None = None

    def count(self, stat: str) -> None:
        if stat not in STAT_NAMES:
            raise KeyError(stat)
        self._stats[stat] += 1

    def accepted(self, advert: ValidAdvert) -> None:
        self._stats["advert_rcvd"] += 1
        if advert.packet.priority == 0:
            self._stats["pri_zero_rcvd"] += 1
        self.last_checksum_form = advert.checksum_form

    def rejected_line(self, rejection: Rejection, detailed: bool = False) -> list[Effect]:
        """Count a dropped advert and return keepalived's log line for it."""
        if rejection.counted:
            self._stats["advert_rcvd"] += 1
        self._stats[rejection.reason.stat] += 1
        self._rejected[rejection.reason] += 1
        key = f"{self._instance}:{rejection.reason.value}"
        return [LogLine(rejection.text, detailed=detailed, rate_limit_key=key)]

    @staticmethod
    def switches_to_old_checksum(form: ChecksumForm, already_old: bool) -> bool:
        """True when a unicast peer's advert verified only with 224.0.0.18 in the pseudo-header."""
        return form is ChecksumForm.PSEUDO_HEADER_MULTICAST and not already_old

    def stats(self) -> InstanceStats:
        return InstanceStats(**{name: self._stats[name] for name in STAT_NAMES})

    def rejected(self) -> tuple[tuple[RejectReason, int], ...]:
        return tuple(sorted(self._rejected.items(), key=lambda item: item[0].value))

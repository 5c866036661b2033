"""Seeded randomness split into named streams.

Each consumer (the network, each disk, the workload, each node's core) draws from its own stream,
derived from the master seed and the stream's name with BLAKE2b, so adding a consumer or drawing
more in one place does not change what the others see. Never derived from `hash()`, which is
salted per process.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, name: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class SimRandom:
    """The master seed and its named child streams."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        if name not in self._streams:
            self._streams[name] = random.Random(derive_seed(self.seed, name))
        return self._streams[name]


class StreamEntropy:
    """Generation ids and challenge bytes for a replica core, from one named stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def random_u64(self) -> int:
        return self._rng.getrandbits(64)

    def random_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

"""DRBD-style peer authentication: `cram-hmac-alg` + `shared-secret`, challenge-response both ways.

Each side sends a random challenge (64 bytes from the injected generator); each answers the
peer's challenge with HMAC(shared-secret, challenge); each checks the answer to its own. As in
DRBD (drbd_receiver.c drbd_do_auth) a peer that echoes our own challenge back is refused, since
it could otherwise replay our answer as its own. The connection accepts no other message until
the peer's answer is verified, so a peer without the secret never gets a byte written.

Algorithms: sha256 (the default when a secret is set without an algorithm), sha1 (the runbook
uses it), sha384, sha512. Weaker digests are refused when the settings are built.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable
from typing import assert_never

from hapair.core.volume.control_messages import AuthChallenge, AuthResponse
from hapair.errors import RemoteProtocolError

CHALLENGE_LEN = 64
MAX_SECRET_LEN = 64  # DRBD's SHARED_SECRET_MAX
DEFAULT_ALGORITHM = "sha256"
ALGORITHMS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


class AuthenticationFailed(RemoteProtocolError):
    """The peer does not know the shared secret, or broke the exchange; the link is closed."""


def normalise_algorithm(name: str) -> str:
    """DRBD accepts kernel names like "sha1" or "hmac(sha1)"; we keep the digest name."""
    value = name.strip().lower()
    if value.startswith("hmac(") and value.endswith(")"):
        value = value[5:-1]
    if value not in ALGORITHMS:
        raise ValueError(f"cram-hmac-alg {name!r} is not supported (use one of {', '.join(ALGORITHMS)})")
    return value


def answer(algorithm: str, secret: bytes, challenge: bytes) -> bytes:
    """HMAC(secret, challenge) with `algorithm` (a name from ALGORITHMS)."""
    return hmac.new(secret, challenge, ALGORITHMS[algorithm]).digest()


class AuthStep(enum.Enum):
    """Where one side of the exchange stands."""

    WAIT_CHALLENGE = "wait-challenge"  # our challenge is out, the peer's has not arrived
    WAIT_RESPONSE = "wait-response"  # we answered the peer; its answer to us is pending
    VERIFIED = "verified"  # the peer proved it knows the secret
    FAILED = "failed"


class PeerAuthenticator:
    """One side of the two-way CRAM-HMAC exchange on one connection."""

    def __init__(self, algorithm: str, secret: bytes, challenge: bytes) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown HMAC algorithm {algorithm!r}")
        if not secret or len(secret) > MAX_SECRET_LEN:
            raise ValueError(f"shared secret must be 1..{MAX_SECRET_LEN} bytes")
        if len(challenge) != CHALLENGE_LEN:
            raise ValueError(f"challenge must be {CHALLENGE_LEN} bytes")
        self._algorithm = algorithm
        self._secret = secret
        self._challenge = challenge
        self.step = AuthStep.WAIT_CHALLENGE

    @property
    def verified(self) -> bool:
        return self.step is AuthStep.VERIFIED

    def challenge_message(self) -> AuthChallenge:
        return AuthChallenge(self._challenge)

    def on_challenge(self, message: AuthChallenge) -> AuthResponse:
        """Answer the peer's challenge; refuse a reflected one."""
        match self.step:
            case AuthStep.WAIT_CHALLENGE:
                pass
            case AuthStep.WAIT_RESPONSE | AuthStep.VERIFIED | AuthStep.FAILED:
                return self._fail("peer sent a second challenge")
            case _ as unreachable:
                assert_never(unreachable)
        if hmac.compare_digest(message.challenge, self._challenge):
            return self._fail("peer presented the same challenge")
        self.step = AuthStep.WAIT_RESPONSE
        return AuthResponse(answer(self._algorithm, self._secret, message.challenge))

    def on_response(self, message: AuthResponse) -> None:
        """Check the peer's answer to our challenge."""
        match self.step:
            case AuthStep.WAIT_RESPONSE:
                pass
            case AuthStep.WAIT_CHALLENGE:
                self._fail("peer answered before it sent its own challenge")
            case AuthStep.VERIFIED | AuthStep.FAILED:
                self._fail("peer answered twice")
            case _ as unreachable:
                assert_never(unreachable)
        expected = answer(self._algorithm, self._secret, self._challenge)
        if not hmac.compare_digest(message.digest, expected):
            self._fail("authentication of peer failed")
        self.step = AuthStep.VERIFIED

    def _fail(self, why: str) -> AuthResponse:
        self.step = AuthStep.FAILED
        raise AuthenticationFailed(why)

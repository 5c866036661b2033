"""CRAM-HMAC both ways: right secret verifies, wrong secret and reflection are refused."""

from __future__ import annotations

import pytest

from hapair.core.volume.auth import (
    AuthenticationFailed,
    AuthStep,
    PeerAuthenticator,
    answer,
    normalise_algorithm,
)
from hapair.core.volume.control_messages import AuthChallenge, AuthResponse

CH_A = bytes(range(64))
CH_B = bytes(range(64, 128))


def pair(secret_a: bytes, secret_b: bytes, alg: str = "sha1") -> tuple[PeerAuthenticator, PeerAuthenticator]:
    return PeerAuthenticator(alg, secret_a, CH_A), PeerAuthenticator(alg, secret_b, CH_B)


@pytest.mark.parametrize("alg", ["sha1", "sha256", "sha384", "sha512"])
def test_same_secret_verifies_both_ways(alg: str) -> None:
    a, b = pair(b"FooFunFactory", b"FooFunFactory", alg)
    resp_from_b = b.on_challenge(a.challenge_message())
    resp_from_a = a.on_challenge(b.challenge_message())
    a.on_response(resp_from_b)
    b.on_response(resp_from_a)
    assert a.verified and b.verified


def test_wrong_secret_is_refused_by_both() -> None:
    a, b = pair(b"right", b"wrong")
    resp_from_b = b.on_challenge(a.challenge_message())
    resp_from_a = a.on_challenge(b.challenge_message())
    with pytest.raises(AuthenticationFailed, match="failed"):
        a.on_response(resp_from_b)
    with pytest.raises(AuthenticationFailed):
        b.on_response(resp_from_a)
    assert a.step is AuthStep.FAILED and not a.verified


def test_reflected_challenge_is_refused() -> None:
    a = PeerAuthenticator("sha256", b"s", CH_A)
    with pytest.raises(AuthenticationFailed, match="same challenge"):
        a.on_challenge(AuthChallenge(CH_A))


def test_out_of_order_messages_are_refused() -> None:
    a = PeerAuthenticator("sha256", b"s", CH_A)
    with pytest.raises(AuthenticationFailed, match="before"):
        a.on_response(AuthResponse(b"x" * 32))
    a = PeerAuthenticator("sha256", b"s", CH_A)
    a.on_challenge(AuthChallenge(CH_B))
    with pytest.raises(AuthenticationFailed, match="second challenge"):
        a.on_challenge(AuthChallenge(CH_B))


def test_answer_is_the_rfc2104_hmac() -> None:
    # RFC 4231 test case 2 (HMAC-SHA-256, key "Jefe")
    digest = answer("sha256", b"Jefe", b"what do ya want for nothing?")
    assert digest.hex().startswith("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_algorithm_names() -> None:
    assert normalise_algorithm("SHA1") == "sha1"
    assert normalise_algorithm("hmac(sha256)") == "sha256"
    with pytest.raises(ValueError, match="md5"):
        normalise_algorithm("md5")
    with pytest.raises(ValueError):
        PeerAuthenticator("sha1", b"", CH_A)
    with pytest.raises(ValueError):
        PeerAuthenticator("sha1", b"x" * 65, CH_A)
    with pytest.raises(ValueError):
        PeerAuthenticator("sha1", b"x", b"short")

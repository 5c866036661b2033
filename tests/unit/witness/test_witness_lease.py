"""The lease arithmetic: a holder's belief ends strictly before the witness frees the vote."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.core.witness import LeaseTerms, LeaseTermsError, holder_validity_ns
from hapair.core.witness.lease import MAX_DRIFT_PPM, PPM, real_elapsed_bounds

S = 1_000_000_000


def test_documented_example() -> None:
    # floor(10 s * 0.99 / 1.01) = 9.801980198 s; minus 1 us and the 0.5 s margin
    assert holder_validity_ns(10 * S, 10_000, S // 2) == 9_301_979_198
    assert LeaseTerms().holder_validity(10 * S) == 9_301_979_198
    assert LeaseTerms().quiet_period_ns == 10 * S


def test_no_drift_still_gives_up_a_microsecond_for_clock_readings() -> None:
    assert holder_validity_ns(S, 0) == S - 1_000


def test_terms_that_leave_nothing_are_refused() -> None:
    with pytest.raises(LeaseTermsError, match="leaves the holder nothing"):
        LeaseTerms(lease_ns=S // 2, margin_ns=S // 2)
    with pytest.raises(LeaseTermsError, match="drift bound"):
        LeaseTerms(drift_ppm=MAX_DRIFT_PPM + 1)
    with pytest.raises(LeaseTermsError, match="margin"):
        LeaseTerms(margin_ns=-1)
    assert holder_validity_ns(0, 0) == 0 and holder_validity_ns(S, 0, 2 * S) == 0


rates = st.integers(-MAX_DRIFT_PPM, MAX_DRIFT_PPM)


@given(
    lease=st.integers(1, 3600 * S),
    drift=st.integers(0, MAX_DRIFT_PPM),
    margin=st.integers(0, S),
    data=st.data(),
)
def test_holder_stops_strictly_before_the_witness_frees(
    lease: int, drift: int, margin: int, data: st.DataObject
) -> None:
    """Real time of the holder's last belief < real time the witness frees, for rates at any point of
    the bound, extremes included (Fractions: no rounding in the check itself)."""
    c = data.draw(st.one_of(st.sampled_from([-drift, drift, 0]), st.integers(-drift, drift)))
    w = data.draw(st.one_of(st.sampled_from([-drift, drift, 0]), st.integers(-drift, drift)))
    sent = data.draw(st.integers(0, 10**15))
    delay = data.draw(st.integers(0, 10 * S))
    validity = holder_validity_ns(lease, drift, margin)
    client_rate = Fraction(PPM + c, PPM)
    witness_rate = Fraction(PPM + w, PPM)
    holder_end = sent + validity / client_rate
    witness_free = sent + delay + lease / witness_rate
    assert holder_end < witness_free


def test_without_the_drift_correction_the_holder_would_outlive_the_grant() -> None:
    """The check above can fail: believing the whole lease breaks it at the edge of the bound."""
    lease, drift = 10 * S, 10_000
    client_rate, witness_rate = Fraction(PPM - drift, PPM), Fraction(PPM + drift, PPM)
    assert 0 + lease / client_rate > 0 + lease / witness_rate


@given(st.integers(0, 10**12), st.integers(0, MAX_DRIFT_PPM))
def test_real_elapsed_bounds_bracket_every_rate(local: int, drift: int) -> None:
    low, high = real_elapsed_bounds(local, drift)
    assert low <= local / Fraction(PPM + drift, PPM) and local / Fraction(PPM - drift, PPM) <= high
    assert low <= local <= high

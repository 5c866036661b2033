"""Host name matching, as drbdadm matches ``on NAME`` against ``uname -n``."""

from __future__ import annotations

from collections.abc import Iterable


def hostnames_equal(a: str, b: str) -> bool:
    """drbdadm's rule (``hostnames_equal``): case-insensitive; when both names are fully
    qualified the whole names must match, otherwise only the parts before the first dot.
    So ``on node1`` matches ``NODE1`` and ``node1.example.com``, but ``node1.a.com`` does not
    match ``node1.b.com``."""
    short_a, dot_a, _ = a.partition(".")
    short_b, dot_b, _ = b.partition(".")
    if dot_a and dot_b:
        return a.casefold() == b.casefold()
    return short_a.casefold() == short_b.casefold()


def hostname_in(name: str, names: Iterable[str]) -> bool:
    return any(hostnames_equal(name, candidate) for candidate in names)

"""Address lines: `virtual_ipaddress` entries, `unicast_peer` entries, single addresses.

Each entry is parsed as keepalived's vrrp_ipaddress.c does, with its messages: a malformed
address, a missing option value, an invalid broadcast or an over-long label drop the entry; an
unknown word or a bad scope is reported and skipped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from hapair.config.keepalived.context import IFNAMSIZ, ParseContext
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.model import PREFERRED_LFT_FOREVER, IPAddress, UnicastPeer, VirtualAddress
from hapair.config.keepalived.numbers import UINT_MAX, read_unsigned

SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
_SCOPE_NAMES = {number: name for name, number in SCOPES.items()}
_FLAGS = {
    "home": "home",
    "-nodad": "no_dad",
    "mngtmpaddr": "mngtmpaddr",
    "noprefixroute": "noprefixroute",
    "autojoin": "autojoin",
    "no_track": "no_track",
    "use_vmac": "use_vmac",
}


def parse_ip(text: str) -> IPAddress | None:
    """A plain address (no prefix) as inet_pton reads it, else None."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def scope_name(text: str) -> str | None:
    """Canonical scope (a name for the standard scopes, else the number); None if invalid."""
    if text in SCOPES:
        return text
    if text.isdigit() and int(text) <= 255:
        return _SCOPE_NAMES.get(int(text), str(int(text)))
    return None


@dataclass(slots=True)
class _Entry:
    address: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    had_prefix: bool
    options: dict[str, object] = field(default_factory=dict)


def _address_with_prefix(ctx: ParseContext, text: str, line: ConfigLine) -> _Entry | None:
    host, slash, prefix_text = text.partition("/")
    address = parse_ip(host)
    if address is None:
        ctx.issues.error(f"VRRP parsed invalid IP {text}. skipping IP...", line.location)
        return None
    host_prefix = address.max_prefixlen
    prefix: int = host_prefix
    if slash:
        result = read_unsigned(prefix_text, 0, host_prefix, ctx.reporter(line))
        if result.ok:
            prefix = result.value
        else:
            ctx.issues.error(
                f"Invalid address prefix len {prefix_text} for address {text} - using {host_prefix}",
                line.location,
            )
    return _Entry(ipaddress.ip_interface(f"{address}/{prefix}"), bool(slash) and prefix != host_prefix)


def parse_virtual_address(
    ctx: ParseContext, words: tuple[str, ...], line: ConfigLine
) -> VirtualAddress | None:
    """One `virtual_ipaddress` line: ADDR[/MASK] [brd A] [dev IF] [scope S] [label L] [peer A] ..."""
    entry = _address_with_prefix(ctx, words[0], line)
    if entry is None:
        return None
    host = str(entry.address.ip)
    ipv6 = entry.address.version == 6
    device: str | None = None
    broadcast: ipaddress.IPv4Address | Literal["+", "-"] | None = None
    scope = "global"
    label: str | None = None
    peer: ipaddress.IPv4Interface | ipaddress.IPv6Interface | None = None
    flags: set[str] = set()
    preferred_lft: int | None = None
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft"):
            if i + 1 >= len(words):
                ctx.issues.error(f"No {word} parameter specified for {host}", line.location)
                return None
            value = words[i + 1]
            i += 2
            if word == "dev":
                if device is not None:
                    ctx.issues.error(
                        f"Cannot specify ipaddress device more than once for {host}", line.location
                    )
                    return None
                if ctx.interface_missing(value):
                    ctx.issues.error(
                        f"WARNING - interface {value} for ip address {host} doesn't exist", line.location
                    )
                device = value
            elif word == "scope":
                canonical = scope_name(value)
                if ipv6:
                    ctx.issues.error(
                        f"Cannot specify scope for IPv6 addresses ({host}) - ignoring scope", line.location
                    )
                elif canonical is None:
                    ctx.issues.error(
                        f"Invalid scope '{value}' specified for {host} - ignoring", line.location
                    )
                else:
                    scope = canonical
            elif word in ("broadcast", "brd"):
                if ipv6:
                    ctx.issues.error(
                        f"VRRP is trying to assign a broadcast {word} to the IPv6 address {host} !!?? WTF... "
                        "skipping VIP...",
                        line.location,
                    )
                    return None
                if value in ("+", "-"):
                    broadcast = "+" if value == "+" else "-"
                else:
                    parsed = parse_ip(value)
                    if not isinstance(parsed, ipaddress.IPv4Address):
                        ctx.issues.error(
                            f"VRRP is trying to assign invalid broadcast {value}. skipping VIP...",
                            line.location,
                        )
                        return None
                    broadcast = parsed
            elif word == "label":
                if ipv6:
                    ctx.issues.error(
                        f"Cannot specify label for IPv6 addresses ({host}) - ignoring label", line.location
                    )
                elif len(value) >= IFNAMSIZ:
                    ctx.issues.error(
                        f"Address label {value} is longer than maximum length {IFNAMSIZ - 1}"
                        " - removing address",
                        line.location,
                    )
                    return None
                else:
                    label = value
            elif word == "peer":
                if peer is not None:
                    ctx.issues.error(f"Peer {value} - another peer has already been specified", line.location)
                    i -= 1
                    continue
                peer_address = parse_ip(value)
                if peer_address is None:
                    ctx.issues.error(f"VRRP parsed invalid IP {value}. skipping IP...", line.location)
                    ctx.issues.error(f"Invalid peer address {value}", line.location)
                elif peer_address.version != entry.address.version:
                    ctx.issues.error(f"Peer address {value} does not match address family", line.location)
                else:
                    peer = ipaddress.ip_interface(f"{peer_address}/{entry.address.network.prefixlen}")
                    if entry.had_prefix:
                        ctx.issues.error(
                            "Cannot specify address prefix when specifying peer address - ignoring",
                            line.location,
                        )
                        entry.address = ipaddress.ip_interface(str(entry.address.ip))
                        peer = ipaddress.ip_interface(str(peer_address))
            elif value == "forever":
                preferred_lft = PREFERRED_LFT_FOREVER
            else:
                result = read_unsigned(value, 0, UINT_MAX, ctx.reporter(line))
                if result.ok:
                    preferred_lft = result.value
                else:
                    ctx.issues.error(f"preferred_lft {value} is invalid", line.location)
            continue
        if word in _FLAGS:
            flags.add(_FLAGS[word])
        else:
            ctx.issues.error(f"Unknown configuration entry '{word}' for ip address - ignoring", line.location)
        i += 1
    if broadcast is not None and peer is not None:
        ctx.issues.error(
            "Cannot specify broadcast and peer addresses - ignoring broadcast address", line.location
        )
        broadcast = None
    return VirtualAddress(
        address=entry.address,
        device=device,
        broadcast=broadcast,
        scope=scope,
        label=label,
        peer=peer,
        home="home" in flags,
        no_dad="no_dad" in flags,
        mngtmpaddr="mngtmpaddr" in flags,
        noprefixroute="noprefixroute" in flags,
        autojoin="autojoin" in flags,
        no_track="no_track" in flags,
        use_vmac="use_vmac" in flags,
        preferred_lft=preferred_lft,
        location=line.location,
    )


def parse_unicast_peer(
    ctx: ParseContext, instance: str, family_version: int | None, words: tuple[str, ...], line: ConfigLine
) -> UnicastPeer | None:
    """One `unicast_peer` line: ADDR [min_ttl N] [max_ttl N]."""
    address = parse_ip(words[0])
    if address is None:
        ctx.issues.error(
            f"Configuration error: VRRP instance[{instance}] malformed unicast peer address[{words[0]}]."
            " Skipping...",
            line.location,
        )
        return None
    if family_version is not None and address.version != family_version:
        ctx.issues.error(
            f"Configuration error: VRRP instance[{instance}] and unicast peer address[{words[0]}] MUST be of "
            "the same family !!! Skipping...",
            line.location,
        )
        return None
    min_ttl, max_ttl = 0, 255
    i = 1
    while i < len(words):
        option = words[i]
        if i + 1 >= len(words):
            ctx.issues.error(f"({instance}) {option} is missing a value", line.location)
            break
        if option in ("min_ttl", "max_ttl"):
            result = read_unsigned(words[i + 1], 0, 255, ctx.reporter(line))
            if result.ok:
                if option == "min_ttl":
                    min_ttl = result.value
                else:
                    max_ttl = result.value
        else:
            ctx.issues.error(f"({instance}) unknown unicast_peer option {option}", line.location)
        i += 2
    if min_ttl > max_ttl:
        ctx.issues.error(
            f"({instance}) min_ttl {min_ttl} > max_ttl {max_ttl} - all packets will be discarded",
            line.location,
        )
    return UnicastPeer(address, min_ttl, max_ttl, line.location)

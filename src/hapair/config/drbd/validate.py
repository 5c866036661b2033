"""Rules that span resources or need the whole configuration (drbdadm's ``check_uniq`` and
``validate_resource``), plus hapair's own: a resource needs at least two host sections.

- a minor number, a device path, a backing disk and an external meta-data slot may each be used
  only once per host, across all resources;
- an address (family, IP, port) may be used by one resource only;
- ``resync-after RES[/VOLUME]`` must name a volume of this configuration, and ``RES`` alone a
  resource with one volume (drbdadm only warns about an unknown resource when run without a
  terminal, to keep Pacemaker-driven removals working; hapair, which never runs from Pacemaker,
  refuses);
- ``after-sb-0pri discard-node-NAME`` must name a host of the resource;
- ``stacked-on-top-of`` must name a resource of this configuration;
- a host name may appear in one host section of a resource only;
- ``become-primary-on both`` needs ``allow-two-primaries`` (drbdadm-84 checks this at ``up``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hapair.errors import ConfigError, SourceLocation

from .model import HostKind, MetaDiskKind
from .names import hostnames_equal
from .options import DISCARD_NODE_PREFIX
from .resolve import Resource


class _Unique:
    def __init__(self, errors: list[ConfigError]) -> None:
        self.first: dict[str, SourceLocation] = {}
        self.errors = errors

    def claim(self, what: str, key: str, where: SourceLocation) -> None:
        first = self.first.get(key)
        if first is None:
            self.first[key] = where
        elif first != where:
            self.errors.append(
                ConfigError(
                    where.file,
                    where.line,
                    f"conflicting use of {what} (first used at {first.file}:{first.line})",
                )
            )


def validate_resources(resources: Sequence[Resource]) -> list[ConfigError]:
    errors: list[ConfigError] = []
    unique = _Unique(errors)
    names = {r.name for r in resources}
    volumes = {r.name: {v.number for h in r.hosts for v in h.volumes} for r in resources}
    owner: dict[tuple[str, str, int], str] = {}
    for resource in resources:
        decl = resource.decl
        if len(decl.hosts) < 2:
            errors.append(
                ConfigError(
                    decl.location.file,
                    decl.location.line,
                    f"resource {decl.name} needs at least two host sections ('on HOST {{ ... }}'), it has "
                    f"{len(decl.hosts)}",
                )
            )
        for host in resource.hosts:
            if host.kind is HostKind.STACKED:
                if host.name not in names:
                    errors.append(
                        ConfigError(
                            host.section.location.file,
                            host.section.location.line,
                            f"in resource {decl.name}, referenced resource '{host.name}' not defined",
                        )
                    )
                continue
            for name in host.names:
                for volume in host.volumes:
                    where = volume.location if volume.location.line else host.section.location
                    implied_device = volume.device == f"/dev/drbd{volume.minor}"
                    if volume.minor >= 0:
                        unique.claim(
                            f"device-minor '{name}:{volume.minor}'",
                            f"minor:{name.lower()}:{volume.minor}",
                            where,
                        )
                    if not implied_device:
                        key = f"device:{name.lower()}:{volume.device}"
                        unique.claim(f"device '{name}:{volume.device}'", key, where)
                    if volume.disk is not None:
                        unique.claim(
                            f"disk '{name}:{volume.disk}'", f"disk:{name.lower()}:{volume.disk}", where
                        )
                    meta = volume.meta_disk
                    if meta is not None and meta.kind is not MetaDiskKind.INTERNAL:
                        key = f"{name.lower()}:{meta.device}[{meta.index_text()}]"
                        unique.claim(f"meta-disk '{key}'", f"meta:{key}", where)
        for conn in resource.connections:
            for path in conn.paths:
                for (_host, address), where in zip(path.ends, path.locations, strict=True):
                    endpoint = (address.family, address.host, address.port)
                    other = owner.setdefault(endpoint, decl.name)
                    if other != decl.name:
                        at = where if where.line else conn.location
                        errors.append(
                            ConfigError(
                                at.file,
                                at.line,
                                f"in resource {decl.name} {address.setup_text()} is also used by resource "
                                f"{other}",
                            )
                        )
        errors.extend(_references(resource, volumes))
        errors.extend(_host_names(resource))
    return errors


def _host_names(resource: Resource) -> list[ConfigError]:
    """A host may appear in one host section of a resource only (drbdadm: "conflicting use of host
    section"; names are compared as host names are matched, so `on a` and `on A` collide too)."""
    errors: list[ConfigError] = []
    seen: list[tuple[str, SourceLocation]] = []
    for host in resource.decl.hosts:
        if host.kind is not HostKind.ON:
            continue
        for name in host.names:
            first = next((loc for other, loc in seen if hostnames_equal(other, name)), None)
            if first is not None and first != host.location:
                loc = host.location
                errors.append(
                    ConfigError(
                        loc.file,
                        loc.line,
                        f"conflicting use of host section '{resource.name}: on {name}' "
                        f"(first used at {first.file}:{first.line})",
                    )
                )
            seen.append((name, host.location))
    return errors


def _references(resource: Resource, volumes: Mapping[str, set[int]]) -> list[ConfigError]:
    errors: list[ConfigError] = []
    decl = resource.decl
    reported: set[tuple[str, int]] = set()
    for host in resource.hosts:
        for volume in host.volumes:
            after = volume.disk_options.get("resync-after")
            if after is None or (after.location.file, after.location.line) in reported:
                continue
            target, slash, number = str(after.value).partition("/")
            known = volumes.get(target)
            if known is None or (slash and (not number.isdigit() or int(number) not in known)):
                problem = f"resource '{after.value}' mentioned in 'resync-after' option is not known"
            elif not slash and len(known) > 1:
                problem = (
                    f"resync-after contains '{target}', which is ambiguous, since it contains "
                    f"{len(known)} volumes"
                )
            else:
                continue
            reported.add((after.location.file, after.location.line))
            errors.append(
                ConfigError(after.location.file, after.location.line, f"in resource {decl.name}: {problem}")
            )
    become = resource.startup.get("become-primary-on")
    two = resource.net.get("allow-two-primaries")
    if become is not None and become.value == "both" and not (two is not None and two.value is True):
        loc = become.location
        message = (
            f"in resource {decl.name}: become-primary-on is set to both, but allow-two-primaries is not set."
        )
        errors.append(ConfigError(loc.file, loc.line, message))
    policies = [resource.net.get("after-sb-0pri")] + [
        c.net.get("after-sb-0pri") for c in resource.connections
    ]
    host_names = [n for h in resource.hosts for n in h.names]
    reported.clear()
    for policy in policies:
        if policy is None or not str(policy.value).startswith(DISCARD_NODE_PREFIX):
            continue
        node = str(policy.value)[len(DISCARD_NODE_PREFIX) :]
        loc = policy.location
        if node not in host_names and (loc.file, loc.line) not in reported:
            reported.add((loc.file, loc.line))
            errors.append(
                ConfigError(
                    loc.file,
                    loc.line,
                    f"in resource {decl.name}: the nodename in the '{policy.value}' option is not known",
                )
            )
    return errors

"""A normalized, comparable form of a configuration: plain dicts, lists and scalars.

Two configurations that mean the same to DRBD have the same normalized form, however they are
written: legacy ``syncer`` or DRBD 9 sections, device statements at resource level or repeated in
every host section, ``100M`` or ``102400`` for a rate, options inherited from ``common`` or written
in the resource. Values are canonical: numbers in the option's DRBD unit (KiB/s for rates, tenths
of a second or seconds for times, sectors or bytes as drbd_limits.h says), booleans as bool, enums
and strings as str. The oracle test parses ``drbdadm dump`` output back through hapair and requires
the same form as the original configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import DrbdConfig
from .inherit import Effective
from .model import MetaDisk, MetaDiskKind
from .options import CanonicalValue
from .resolve import ResolvedConnection, ResolvedHost, Resource

Form = dict[str, object]


def options_form(options: Effective) -> dict[str, CanonicalValue]:
    return {name: options[name].value for name in sorted(options)}


def meta_disk_form(meta: MetaDisk | None) -> str | None:
    if meta is None:
        return None
    if meta.kind is MetaDiskKind.INTERNAL:
        return "internal"
    if meta.kind is MetaDiskKind.FLEXIBLE:
        return f"flexible:{meta.device}"
    return f"{meta.device}[{meta.index}]"


def host_form(host: ResolvedHost) -> Form:
    return {
        "kind": host.kind.value,
        "names": list(host.names),
        "node-id": host.node_id,
        "address": host.address.setup_text() if host.address is not None else None,
        "options": options_form(host.options),
        "volumes": {
            str(v.number): {
                "device": v.device,
                "minor": v.minor,
                "disk": v.disk,
                "meta-disk": meta_disk_form(v.meta_disk),
                "disk-options": options_form(v.disk_options),
                "peer-device-options": options_form(v.peer_device_options),
            }
            for v in host.volumes
        },
    }


def connection_form(conn: ResolvedConnection) -> Form:
    return {
        "hosts": sorted(conn.hosts),
        "paths": sorted(
            sorted(f"{name}@{address.setup_text()}" for name, address in path.ends) for path in conn.paths
        ),
        "net": options_form(conn.net),
        "peer-devices": {str(number): options_form(options) for number, options in conn.peer_devices},
    }


def resource_form(resource: Resource) -> Form:
    return {
        "options": options_form(resource.options),
        "net": options_form(resource.net),
        "disk": options_form(resource.disk),
        "startup": options_form(resource.startup),
        "handlers": options_form(resource.handlers),
        "hosts": {host.name: host_form(host) for host in resource.hosts},
        "connections": sorted(
            (connection_form(c) for c in resource.connections), key=lambda c: str(c["hosts"])
        ),
    }


def normalized_form(config: DrbdConfig) -> Form:
    """The comparable form of the whole configuration (global settings drbdadm prints, and every
    resource with everything inherited)."""
    g = config.global_options
    global_form: Mapping[str, object] = {
        "disable-ip-verification": g.disable_ip_verification,
        "minor-count": g.minor_count,
        "dialog-refresh": g.dialog_refresh,
        "usage-count": g.usage_count.value,
    }
    return {
        "global": dict(global_form),
        "resources": {r.name: resource_form(r) for r in config.resources},
    }

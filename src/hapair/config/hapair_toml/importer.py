"""`hapair config import`: hapair.toml for an existing keepalived + DRBD setup, such as the runbook's.

The keepalived.conf and `.res` files stay as they are and are referenced from `[sources]`. What the
notify scripts did by hand becomes a resource group per VRRP instance: `drbdadm primary RES` names
the resource, `mount DEV DIR` the device and the mount point (with `-t`/`-o`), `systemctl start`
the service. Since the group now does that work itself, in order and safely, the instance's
keepalived notify scripts are no longer run (`keepalived_notify = false`). Everything inferred,
and everything left out, is said in `notes` and as comments in the file.

Scripts are read through `read_script(path)`; a script that is not at the path keepalived.conf
names is looked for next to keepalived.conf (a copied-around runbook keeps them together).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hapair.config import drbd
from hapair.config.hapair_toml.scripts import ScriptIntent, read_intent
from hapair.config.keepalived import KeepalivedConfig, Severity, SourceReader, VrrpInstance, check_config
from hapair.errors import ConfigError, ConfigErrors

_NOTIFY = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")


@dataclass(frozen=True, slots=True)
class ImportResult:
    toml: str
    notes: tuple[str, ...]


@dataclass
class _Group:
    instance: VrrpInstance
    resource: str
    device: str | None = None
    mount_point: str | None = None
    fstype: str | None = None
    options: tuple[str, ...] = ()
    service: str | None = None
    scripts: tuple[str, ...] = ()


def import_setup(
    keepalived_path: str,
    res_paths: Sequence[str],
    keepalived_reader: SourceReader,
    drbd_reader: drbd.SourceReader,
    read_script: Callable[[str], str],
    *,
    node: str | None = None,
) -> ImportResult:
    """Raises `ConfigErrors` when keepalived.conf or the DRBD files cannot be used at all."""
    notes: list[str] = []
    keepalived = _keepalived(keepalived_path, keepalived_reader)
    resources = _drbd(res_paths, drbd_reader)
    groups: list[_Group] = []
    for instance in keepalived.instances:
        group = _group_for(
            instance,
            resources,
            keepalived_path=keepalived_path,
            read_script=read_script,
            node=node,
            notes=notes,
        )
        if group is not None:
            groups.append(group)
    if not groups:
        notes.append(
            "no resource group could be made: no instance names a resource and there is not "
            "exactly one resource"
        )
    notes.append(
        "no witness in this setup: a node that loses its peer promotes on its own (split brain is "
        "possible); add a [witness] on a third host"
    )
    if node is None:
        notes.append("[node] name is left out: each node uses its host name (uname -n), as drbdadm does")
    return ImportResult(_render(keepalived_path, res_paths, groups, node), tuple(notes))


def _keepalived(path: str, reader: SourceReader) -> KeepalivedConfig:
    model, diagnostics = check_config(path, reader)
    fatal = [d.to_error() for d in diagnostics if d.severity is Severity.FATAL]
    if model is None or fatal:
        raise ConfigErrors(fatal or [ConfigError(path, 0, "cannot be read")])
    return model


def _drbd(paths: Sequence[str], reader: drbd.SourceReader) -> drbd.DrbdConfig:
    main = "/hapair-import/drbd.conf"
    text = "".join(f'include "{p}";\n' for p in paths)

    class _Reader:
        def read(self, path: str) -> str:
            return text if path == main else reader.read(path)

        def glob(self, pattern: str) -> list[str]:
            return reader.glob(pattern)

    return drbd.load_resources(main, _Reader())


def _group_for(
    instance: VrrpInstance,
    resources: drbd.DrbdConfig,
    *,
    keepalived_path: str,
    read_script: Callable[[str], str],
    node: str | None,
    notes: list[str],
) -> _Group | None:
    name = instance.name
    intent = ScriptIntent()
    scripts: list[str] = []
    read: set[str] = set()
    for keyword in _NOTIFY:
        script = getattr(instance, keyword)
        if script is None:
            continue
        scripts.append(f"{keyword} {script.argv[0]}")
        if script.argv[0] in read:
            continue
        read.add(script.argv[0])
        text, where = _read(script.argv[0], keepalived_path, read_script)
        if text is None:
            notes.append(f"{name}: {keyword} {script.argv[0]} could not be read; its intent is not imported")
            continue
        if where != script.argv[0]:
            notes.append(f"{name}: {script.argv[0]} read from {where}")
        found = read_intent(text, posixpath.basename(where))
        intent.promotes += found.promotes
        intent.mounts += found.mounts
        intent.services_started += found.services_started
        notes.extend(f"{name}: {n}" for n in found.notes)
        notes.extend(f"{name}: not understood, not imported: {n}" for n in found.not_understood)
    names = resources.names()
    if intent.promotes:
        resource = intent.promotes[0]
        notes.append(f"{name}: resource {resource} (from `drbdadm primary {resource}`)")
    elif len(names) == 1:
        resource = names[0]
        notes.append(f"{name}: resource {resource} (the only one in the DRBD files)")
    else:
        notes.append(f"{name}: skipped: no notify script names a resource and there are {len(names)}")
        return None
    if resource not in names:
        notes.append(f"{name}: skipped: resource {resource} is not in the DRBD files ({', '.join(names)})")
        return None
    group = _Group(instance, resource, scripts=tuple(scripts))
    devices = _devices(resources, resource, node)
    for device, mount_point, fstype, options in intent.mounts:
        group.device = device if device in devices else None
        group.mount_point, group.fstype, group.options = mount_point, fstype, options
        where = f"`mount {device} {mount_point}`"
        notes.append(f"{name}: mount point {mount_point} (from {where})")
        if group.device is None:
            notes.append(f"{name}: {device} is not a device of {resource}; using the resource's device")
        if fstype is None:
            notes.append(
                f"{name}: the scripts give no filesystem type; mount detects it (set fstype for fsck)"
            )
        break
    if group.device is None and len(devices) == 1:
        group.device = devices[0]
        notes.append(f"{name}: device {group.device} (the device of {resource})")
    if intent.services_started:
        group.service = intent.services_started[0]
        notes.append(f"{name}: service {group.service} (from `systemctl start`)")
    if scripts:
        notes.append(f"{name}: keepalived_notify = false: the group now does what {', '.join(scripts)} did")
    if not instance.nopreempt:
        notes.append(f"{name}: the instance preempts; nopreempt (with state BACKUP) is recommended")
    return group


def _read(program: str, keepalived_path: str, read_script: Callable[[str], str]) -> tuple[str | None, str]:
    beside = posixpath.join(posixpath.dirname(keepalived_path), posixpath.basename(program))
    for candidate in (program, beside):
        try:
            return read_script(candidate), candidate
        except OSError:
            continue
    return None, program


def _devices(resources: drbd.DrbdConfig, resource: str, node: str | None) -> list[str]:
    hosts = resources.resource(resource).hosts
    chosen = [h for h in hosts if node is not None and node in h.names] or list(hosts)
    return sorted({v.device for h in chosen[:1] for v in h.volumes})


# ------------------------------------------------------------------------------------------ writing


def toml_string(text: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _render(
    keepalived_path: str, res_paths: Sequence[str], groups: Sequence[_Group], node: str | None
) -> str:
    lines = [
        "# hapair.toml, written by `hapair config import` from an existing keepalived + DRBD setup.",
        "# keepalived.conf and the DRBD files stay as they are; this file adds what they have no words",
        "# for: which instance and resource belong together, and what runs on the resource.",
        "",
        "[node]",
        f"name = {toml_string(node)}" if node else '# name = "NODE1"   # default: the host name (uname -n)',
        "",
        "[sources]",
        f"keepalived = {toml_string(keepalived_path)}",
        "drbd = [" + ", ".join(toml_string(p) for p in res_paths) + "]",
        "",
        "# A witness on a third host lets a node that lost its peer decide safely (2 of 3):",
        "# [witness]",
        '# address = "10.30.31.172"',
        '# secret_file = "/etc/hapair/witness.secret"',
    ]
    for group in groups:
        lines += ["", "[[group]]", f"name = {toml_string(group.resource)}"]
        lines.append(f"vrrp_instance = {toml_string(group.instance.name)}")
        lines.append(f"resource = {toml_string(group.resource)}")
        if group.device is not None:
            lines.append(f"device = {toml_string(group.device)}")
        if group.fstype is not None:
            lines.append(f"fstype = {toml_string(group.fstype)}")
        if group.mount_point is not None:
            lines.append(f"mount_point = {toml_string(group.mount_point)}")
        if group.options:
            lines.append("mount_options = [" + ", ".join(toml_string(o) for o in group.options) + "]")
        if group.service is not None:
            lines.append(f"service = {toml_string(group.service)}")
        if group.scripts:
            lines.append("# The notify scripts did by hand what this group does in order, with checks:")
            lines.extend(f"#   {script}" for script in group.scripts)
            lines.append("keepalived_notify = false")
    return "\n".join(lines) + "\n"

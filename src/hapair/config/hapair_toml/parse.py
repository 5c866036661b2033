"""Read hapair.toml text into a `HapairConfig`, every mistake reported as FILE:LINE: message.

Layout (everything optional except what a group needs):

    [node]
    name = "NODE1"                    # this node as the .res files name it (default: host name)

    [sources]                         # paths relative to this file's directory
    keepalived = "keepalived.conf"    # or [vrrp_instance.NAME] ... tables (see `native`)
    drbd = ["global_common.conf", "r0.res"]   # or one drbd.conf; or [resource.NAME] tables

    [witness]
    address = "10.30.31.172"
    port = 7770                       # the default; DRBD resources customarily use 7788 and up
    secret_file = "/etc/hapair/witness.secret"   # or secret = "..." (at least 8 bytes)
    lease = 10                        # seconds; also drift_ppm, margin, standby_delay, retry

    [[group]]
    name = "r0"
    vrrp_instance = "VI_1"
    resource = "r0"                   # default: the group's name
    device = "/dev/drbd0"             # default: the resource's device on this node
    vips = ["10.30.31.171"]           # default: all of the instance's
    fstype = "xfs"
    fsck = true                       # or a command
    mount_point = "/drbd-fs"
    mount_options = ["noatime"]
    service = "nginx.service"         # or { start = "...", stop = "...", check = "..." }
    on_quorum_loss = "suspend"        # or "error"
    promotion_wait = 30               # seconds; also retry_after_failure, quorum_loss_grace
    keepalived_notify = true          # run the instance's keepalived.conf notify scripts too
    [group.timeouts]                  # seconds: promote attach fsck mount start_service add_vip
    mount = 60                        #   remove_vip stop_service unmount kill_holders detach demote
    [group.unmount]
    kill_after = 5                    # also retry, kill_wait
    [group.notify]                    # after the built-in steps, with keepalived's arguments
    master = "/usr/local/bin/on-master"   # also backup, fault, stop, notify

Syntax errors come from `tomllib` with its line; everything else is located with `TomlLineMap`.
"""

from __future__ import annotations

import posixpath
import tomllib

from hapair.config.hapair_toml.fields import Problems, TableReader
from hapair.config.hapair_toml.lines import TomlLineMap
from hapair.config.hapair_toml.model import (
    DEFAULT_PROMOTION_WAIT_NS,
    DEFAULT_QUORUM_LOSS_GRACE_NS,
    DEFAULT_RETRY_AFTER_FAILURE_NS,
    GroupConfig,
    HapairConfig,
    NotifyHooks,
    WitnessConfig,
)
from hapair.config.hapair_toml.native import KEEPALIVED_TABLES, render_drbd, render_keepalived
from hapair.core.orchestrator.settings import (
    DEFAULT_TIMEOUTS,
    DEFAULT_UNMOUNT,
    QuorumLossPolicy,
    ServiceSpec,
    StepTimeouts,
    UnmountPolicy,
)
from hapair.core.witness import DEFAULT_WITNESS_PORT, LeaseTerms, LeaseTermsError
from hapair.core.witness.client import DEFAULT_RETRY_NS, DEFAULT_STANDBY_DELAY_NS
from hapair.core.witness.codec import MIN_SECRET_LEN
from hapair.core.witness.lease import DEFAULT_DRIFT_PPM, DEFAULT_LEASE_NS, DEFAULT_MARGIN_NS
from hapair.errors import ConfigError, ConfigErrors


def parse_hapair_toml(text: str, path: str) -> tuple[HapairConfig, list[ConfigError]]:
    """The model and its warnings; raises `ConfigErrors` (every error, FILE:LINE) when invalid."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([_syntax_error(exc, path)]) from None
    lines = TomlLineMap.scan(text)
    problems = Problems(path, lines)
    top = TableReader(document, (), problems)
    node = top.table_of("node")
    node_name = node.string("name") if node is not None else None
    if node is not None:
        node.finish()
    keepalived, drbd = _sources(top, path)
    witness = _witness(top)
    groups = _groups(top)
    native_keepalived = render_keepalived(document, lines, problems)
    native_drbd = render_drbd(document, lines, problems)
    for key in (*KEEPALIVED_TABLES, "resource"):
        top.raw(key)
    top.finish()
    if keepalived is not None and native_keepalived is not None:
        problems.error(
            ("vrrp_instance",), "keepalived configuration given twice: sources.keepalived and tables"
        )
    if drbd and native_drbd is not None:
        problems.error(("resource",), "DRBD configuration given twice: sources.drbd and [resource] tables")
    _unique_groups(groups, problems)
    if problems.errors:
        raise ConfigErrors(problems.errors)
    config = HapairConfig(
        path=path,
        node=node_name,
        keepalived=keepalived,
        drbd=drbd,
        native_keepalived=native_keepalived,
        native_drbd=native_drbd,
        witness=witness,
        groups=tuple(groups),
        lines=lines,
    )
    return config, problems.warnings


def _syntax_error(exc: tomllib.TOMLDecodeError, path: str) -> ConfigError:
    # tomllib's message ends with "(at line L, column C)"; keep the words, move the line forward.
    message = str(exc)
    line = 1
    marker = "(at line "
    if marker in message:
        head, _, tail = message.rpartition(marker)
        number = tail.split(",", 1)[0].rstrip(")")
        if number.isdigit():
            line = int(number)
            message = f"{head.strip()} ({tail.rstrip(')').split(', ', 1)[-1]})"
    elif "(at end of document)" in message:
        line = max(1, message.count("\n") + 1)
    return ConfigError(path, line, f"TOML syntax: {message}")


def _sources(top: TableReader, path: str) -> tuple[str | None, tuple[str, ...]]:
    sources = top.table_of("sources")
    if sources is None:
        return None, ()
    base = posixpath.dirname(path)
    keepalived = sources.string("keepalived")
    raw = sources.raw("drbd")
    drbd: tuple[str, ...] = ()
    if isinstance(raw, str):
        drbd = (raw,)
    elif raw is not None:
        drbd = sources.strings("drbd")
    sources.finish()
    resolved = tuple(posixpath.join(base, p) for p in drbd)
    return (posixpath.join(base, keepalived) if keepalived else None), resolved


def _witness(top: TableReader) -> WitnessConfig | None:
    table = top.table_of("witness")
    if table is None:
        return None
    address = table.string("address", required=True)
    port = table.integer("port", DEFAULT_WITNESS_PORT, 1, 65535)
    secret = table.string("secret")
    secret_file = table.string("secret_file")
    if (secret is None) == (secret_file is None):
        table.problems.error(table.path, "witness: give secret or secret_file (one of them)")
    if secret is not None and len(secret.encode()) < MIN_SECRET_LEN:
        table.problems.error((*table.path, "secret"), f"witness.secret: at least {MIN_SECRET_LEN} bytes")
    config = WitnessConfig(
        address=address or "",
        port=port,
        secret=secret.encode() if secret is not None else None,
        secret_file=secret_file,
        lease_ns=table.seconds("lease", DEFAULT_LEASE_NS),
        drift_ppm=table.integer("drift_ppm", DEFAULT_DRIFT_PPM, 0, 100_000),
        margin_ns=table.seconds("margin", DEFAULT_MARGIN_NS, positive=False),
        standby_delay_ns=table.seconds("standby_delay", DEFAULT_STANDBY_DELAY_NS, positive=False),
        retry_ns=table.seconds("retry", DEFAULT_RETRY_NS),
    )
    table.finish()
    try:
        LeaseTerms(lease_ns=config.lease_ns, drift_ppm=config.drift_ppm, margin_ns=config.margin_ns)
    except LeaseTermsError as exc:
        table.problems.error((*table.path, "lease"), f"witness.lease: {exc}")
    return config


def _groups(top: TableReader) -> list[GroupConfig]:
    raw = top.raw("group")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        top.problems.error(("group",), "group: expected [[group]] tables")
        return []
    return [_group(TableReader(g, ("group", i), top.problems), i) for i, g in enumerate(raw)]


def _group(table: TableReader, index: int) -> GroupConfig:
    name = table.string("name", required=True) or f"group{index}"
    fsck_raw = table.raw("fsck")
    fsck, fsck_command = False, None
    if isinstance(fsck_raw, bool):
        fsck = fsck_raw
    elif isinstance(fsck_raw, str) and fsck_raw.strip():
        fsck, fsck_command = True, fsck_raw
    elif fsck_raw is not None:
        table.problems.error((*table.path, "fsck"), f"group[{index}].fsck: expected true, false or a command")
    options_raw = table.raw("mount_options")
    options = tuple(o for o in options_raw.split(",") if o) if isinstance(options_raw, str) else ()
    if not isinstance(options_raw, str):
        options = table.strings("mount_options")
    group = GroupConfig(
        index=index,
        name=name,
        vrrp_instance=table.string("vrrp_instance", required=True) or "",
        resource=table.string("resource") or name,
        device=table.string("device"),
        vips=table.strings("vips"),
        fstype=table.string("fstype"),
        fsck=fsck,
        fsck_command=fsck_command,
        mount_point=table.string("mount_point"),
        mount_options=options,
        service=_service(table),
        timeouts=_timeouts(table),
        unmount=_unmount(table),
        on_quorum_loss=table.choice("on_quorum_loss", QuorumLossPolicy, QuorumLossPolicy.SUSPEND),
        promotion_wait_ns=table.seconds("promotion_wait", DEFAULT_PROMOTION_WAIT_NS),
        retry_after_failure_ns=table.seconds(
            "retry_after_failure", DEFAULT_RETRY_AFTER_FAILURE_NS, positive=False
        ),
        quorum_loss_grace_ns=table.seconds("quorum_loss_grace", DEFAULT_QUORUM_LOSS_GRACE_NS, positive=False),
        notify=_notify(table),
        keepalived_notify=table.boolean("keepalived_notify", True),
    )
    table.finish()
    return group


def _service(table: TableReader) -> ServiceSpec | None:
    raw = table.raw("service")
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        return ServiceSpec(unit=raw)
    inner = table.table_of("service")
    if inner is None:
        return None
    spec = ServiceSpec(
        unit=inner.string("unit"),
        start=inner.string("start"),
        stop=inner.string("stop"),
        check=inner.string("check"),
    )
    inner.finish()
    return spec


def _timeouts(table: TableReader) -> StepTimeouts:
    inner = table.table_of("timeouts")
    if inner is None:
        return DEFAULT_TIMEOUTS
    values = {
        name: inner.seconds(name, getattr(DEFAULT_TIMEOUTS, name))
        for name in StepTimeouts.__dataclass_fields__
    }
    inner.finish()
    return StepTimeouts(**values)


def _unmount(table: TableReader) -> UnmountPolicy:
    inner = table.table_of("unmount")
    if inner is None:
        return DEFAULT_UNMOUNT
    policy = UnmountPolicy(
        retry_ns=inner.seconds("retry", DEFAULT_UNMOUNT.retry_ns),
        kill_after_ns=inner.seconds("kill_after", DEFAULT_UNMOUNT.kill_after_ns, positive=False),
        kill_wait_ns=inner.seconds("kill_wait", DEFAULT_UNMOUNT.kill_wait_ns),
    )
    inner.finish()
    return policy


def _notify(table: TableReader) -> NotifyHooks:
    inner = table.table_of("notify")
    if inner is None:
        return NotifyHooks()
    hooks = NotifyHooks(
        master=inner.string("master"),
        backup=inner.string("backup"),
        fault=inner.string("fault"),
        stop=inner.string("stop"),
        generic=inner.string("notify"),
    )
    inner.finish()
    return hooks


def _unique_groups(groups: list[GroupConfig], problems: Problems) -> None:
    for attribute, what in (("name", "name"), ("vrrp_instance", "VRRP instance"), ("resource", "resource")):
        seen: dict[str, int] = {}
        for group in groups:
            value = getattr(group, attribute)
            if value in seen:
                problems.error(
                    (*group.path, attribute),
                    f"group[{group.index}]: {what} {value!r} is already used by group[{seen[value]}]",
                )
            seen.setdefault(value, group.index)

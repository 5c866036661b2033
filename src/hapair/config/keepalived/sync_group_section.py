"""`vrrp_sync_group NAME { group { ... } ... }`: the keyword handlers (keepalived vrrp_parser.c).

Members are resolved against the instances in `completion`, after everything has been read,
because a group may name instances declared after it.
"""

from __future__ import annotations

from collections.abc import Callable

from hapair.config.keepalived.blocks import Keyword
from hapair.config.keepalived.context import ParseContext, SyncGroupBuilder
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.numbers import check_true_false
from hapair.config.keepalived.scripting import parse_command, track_interface_entry, track_script_entry

GROUP_NOTIFY_KEYWORDS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
IGNORED_GROUP_BLOCKS = ("track_file", "track_process", "track_bfd")


def _current(ctx: ParseContext, line: ConfigLine) -> SyncGroupBuilder:
    if not ctx.sync_groups:  # keywords of a refused first group: keepalived has nothing to add them to
        ctx.sync_groups.append(SyncGroupBuilder("", line.location, members=[]))
    return ctx.sync_groups[-1]


def _on_group_start(ctx: ParseContext, line: ConfigLine) -> None:
    if len(line.words) != 2:
        ctx.issues.error("vrrp_sync_group must have a name - skipping", line.location)
        ctx.walker.skip_block()
        return
    name = line.words[1]
    if any(group.name == name for group in ctx.sync_groups):
        ctx.issues.error(f"vrrp sync group {name} already defined", line.location)
        ctx.walker.skip_block()
        return
    ctx.sync_groups.append(SyncGroupBuilder(name, line.location))


def _on_members(ctx: ParseContext, line: ConfigLine) -> None:
    group = _current(ctx, line)
    if group.members is not None:
        ctx.issues.error(f"Group list already specified for sync group {group.name}", line.location)
        ctx.walker.skip_block()
        return
    group.members = [(word, entry) for word, entry in ctx.walker.value_words(line)]
    if not group.members:
        ctx.issues.error(f"Warning - sync group {group.name} has empty group block", ctx.walker.location)


def _on_notify(ctx: ParseContext, line: ConfigLine) -> None:
    group = _current(ctx, line)
    keyword = line.keyword
    if keyword in group.notifies and len(line.words) > 1:
        ctx.issues.error(
            f"vrrp group {group.name}: {keyword} script already specified - ignoring {line.words[1]}",
            line.location,
        )
        return
    command = parse_command(ctx, line)
    if command is not None:
        group.notifies[keyword] = command


def _on_bool(
    ctx: ParseContext, line: ConfigLine, message: str, setter: Callable[[SyncGroupBuilder, bool], None]
) -> None:
    group = _current(ctx, line)
    value = check_true_false(line.words[1]) if len(line.words) >= 2 else True
    if value is None:
        ctx.issues.error(message.format(name=group.name, value=line.words[1]), line.location)
        return
    setter(group, value)


def _on_global_tracking(ctx: ParseContext, line: ConfigLine) -> None:
    group = _current(ctx, line)
    ctx.issues.error(
        f"({group.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group",
        line.location,
    )
    group.tracking_weight = True


def _ignored_block(ctx: ParseContext, line: ConfigLine) -> None:
    ctx.ignore(line)
    ctx.walker.value_block(line, lambda words, entry: None)


def vrrp_sync_group_keyword(ctx: ParseContext) -> Keyword:
    """The top-level `vrrp_sync_group NAME { ... }` keyword."""
    sub: dict[str, Keyword] = {
        "group": Keyword(lambda line: _on_members(ctx, line)),
        "track_interface": Keyword(
            lambda line: ctx.walker.value_block(
                line,
                lambda words, entry: track_interface_entry(
                    ctx, _current(ctx, line).name, _current(ctx, line).track_interfaces, words, entry
                ),
            )
        ),
        "track_script": Keyword(
            lambda line: ctx.walker.value_block(
                line,
                lambda words, entry: track_script_entry(
                    ctx, _current(ctx, line).name, _current(ctx, line).track_scripts, words, entry
                ),
            )
        ),
        "smtp_alert": Keyword(
            lambda line: _on_bool(
                ctx,
                line,
                "Invalid vrrp_group smtp_alert parameter {value}",
                lambda g, v: setattr(g, "smtp_alert", v),
            )
        ),
        "notify_priority_changes": Keyword(
            lambda line: _on_bool(
                ctx,
                line,
                "({name}) Invalid value '{value}' for sync group notify_priority_changes specified",
                lambda g, v: setattr(g, "notify_priority_changes", v),
            )
        ),
        "global_tracking": Keyword(lambda line: _on_global_tracking(ctx, line)),
        "sync_group_tracking_weight": Keyword(
            lambda line: setattr(_current(ctx, line), "tracking_weight", True)
        ),
    }
    for name in GROUP_NOTIFY_KEYWORDS:
        sub[name] = Keyword(lambda line: _on_notify(ctx, line))
    for name in IGNORED_GROUP_BLOCKS:
        sub[name] = Keyword(lambda line: _ignored_block(ctx, line))
    return Keyword(lambda line: _on_group_start(ctx, line), sub=sub)

"""Scripts and tracking: `vrrp_script` blocks, notify commands, track_interface/track_script.

Commands are split the way keepalived splits them (notify.c notify_script_init): the raw line is
split with quotes and escapes; its second word is the command, which is split again into argv; a
third and fourth word are the user and group to run it as. So
`notify_master "/x.sh arg 'two words'" nobody` runs /x.sh with `arg` and `two words` as nobody,
and `script /bin/echo a b` runs /bin/echo alone (unquoted extra words are not the command).

Track entries follow vrrp_track.c: an unknown option drops the entry; a bad weight keeps the
entry with its default weight; weights of +/-254 become +/-253.
"""

from __future__ import annotations

from collections.abc import Mapping

from hapair.config.keepalived.blocks import Keyword
from hapair.config.keepalived.context import IFNAMSIZ, ParseContext, ScriptBuilder
from hapair.config.keepalived.linereader import ConfigLine
from hapair.config.keepalived.model import NotifyScript, TrackedInterface, TrackedScript, VrrpScript
from hapair.config.keepalived.numbers import UINT_MAX, read_int, read_unsigned
from hapair.config.keepalived.words import split_quoted_escaped

_SECONDS_MAX = UINT_MAX // 1_000_000  # keepalived: UINT_MAX / TIMER_HZ = 4294


def parse_command(ctx: ParseContext, line: ConfigLine, *, with_user: bool = True) -> NotifyScript | None:
    """The command of a `notify*`/`script` line, or None (reported) when it has none."""
    if ctx.walker.parameter(line, 1) is None:
        return None
    words, problem = split_quoted_escaped(line.text)
    if words is None:
        ctx.issues.error(problem or "invalid command", line.location)
        return None
    argv, problem = split_quoted_escaped(words[1]) if len(words) > 1 else ([], None)
    if argv is None:
        ctx.issues.error(problem or "invalid command", line.location)
        return None
    if not argv:
        ctx.issues.error(f"{line.words[0]} script missing", line.location)
        return None
    user = words[2] if with_user and len(words) > 2 else None
    group = words[3] if with_user and len(words) > 3 else None
    return NotifyScript(tuple(argv), user, group, line.location)


def _weight(
    ctx: ParseContext, owner: str, words: tuple[str, ...], line: ConfigLine
) -> tuple[int, bool] | None:
    """Read `weight W` at words[1:3]: (weight, ok); None when the value is missing."""
    if len(words) == 2:
        return None
    result = read_int(words[2], -254, 254, ctx.reporter(line))
    if not result.ok:
        return 0, False
    value = result.value
    if value in (254, -254):
        ctx.issues.warning(
            f"({owner}) weight for {words[0]} cannot be +/-254. Setting to +/-253", line.location
        )
        value = 253 if value > 0 else -253
    return value, True


def track_interface_entry(
    ctx: ParseContext, owner: str, entries: list[TrackedInterface], words: tuple[str, ...], line: ConfigLine
) -> None:
    """One line of a `track_interface` block (instance or sync group)."""
    name = words[0]
    prefix = f"({owner})"
    if len(name) >= IFNAMSIZ:
        ctx.issues.error(f"Interface name '{name}' too long - ignoring", line.location)
        return
    if ctx.interface_missing(name):
        ctx.issues.error(f"{prefix} tracked interface {name} doesn't exist", line.location)
        return
    if any(entry.name == name for entry in entries):
        ctx.issues.error(f"{prefix} duplicate track_interface {name} - ignoring", line.location)
        return
    weight, reverse = 0, False
    if len(words) >= 2:
        if words[1] != "weight":
            ctx.issues.error(
                f"{prefix} unknown track_interface {name} option {words[1]} - ignoring", line.location
            )
            return
        parsed = _weight(ctx, owner, words, line)
        if parsed is None:
            ctx.issues.error(
                f"{prefix} weight without value specified for track_interface {name} - ignoring",
                line.location,
            )
            return
        weight, ok = parsed
        if not ok:
            ctx.issues.error(
                f"{prefix} weight {words[2]} for {name} must be between [-253..253] inclusive. Ignoring...",
                line.location,
            )
        if len(words) >= 4:
            if words[3] == "reverse":
                reverse = True
            else:
                ctx.issues.error(
                    f"{prefix} unknown track_interace {name} weight option {words[3]} - ignoring",
                    line.location,
                )
    entries.append(TrackedInterface(name, weight, reverse, line.location))


def find_script(ctx: ParseContext, name: str) -> VrrpScript | None:
    for script in ctx.scripts:
        if script.name == name:
            return script
    return None


def track_script_entry(
    ctx: ParseContext, owner: str, entries: list[TrackedScript], words: tuple[str, ...], line: ConfigLine
) -> None:
    """One line of a `track_script` block; the vrrp_script must already be declared."""
    name = words[0]
    prefix = f"({owner})"
    script = find_script(ctx, name)
    if script is None:
        ctx.issues.error(f"{prefix} track script {name} not found, ignoring...", line.location)
        return
    if any(entry.name == name for entry in entries):
        ctx.issues.error(f"{prefix} duplicate track_script {name} - ignoring", line.location)
        return
    weight, reverse = script.weight, script.weight_reverse
    if len(words) >= 2:
        if words[1] != "weight":
            ctx.issues.error(f"{prefix} unknown track script option {words[1]} - ignoring", line.location)
            return
        parsed = _weight(ctx, owner, words, line)
        if parsed is None:
            ctx.issues.error(
                f"{prefix} weight without value specified for track script {name} - ignoring", line.location
            )
            return
        if parsed[1]:
            weight = parsed[0]
        else:
            ctx.issues.error(
                f"{prefix} track script {name}: weight must be between [-253..253] inclusive, ignoring...",
                line.location,
            )
        if len(words) >= 4:
            if words[3] == "reverse":
                reverse = True
            elif words[3] == "noreverse":
                reverse = False
            else:
                ctx.issues.error(
                    f"{prefix} unknown track_script {name} weight option {words[3]} - ignoring", line.location
                )
    entries.append(TrackedScript(name, weight, reverse, line.location))


# -- vrrp_script { ... } ----------------------------------------------------------------------


def _current(ctx: ParseContext) -> ScriptBuilder:
    return ctx.script_builders[-1]


def _on_vrrp_script(ctx: ParseContext, line: ConfigLine) -> None:
    name = ctx.walker.parameter(line, 1)
    ctx.script_builders.append(ScriptBuilder(name or "", line.location))


def _on_script(ctx: ParseContext, line: ConfigLine) -> None:
    command = parse_command(ctx, line, with_user=False)
    if command is not None:
        builder = _current(ctx)
        builder.argv = command.argv
        builder.script_location = line.location


def _on_seconds(ctx: ParseContext, line: ConfigLine, what: str) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    builder = _current(ctx)
    result = read_unsigned(value, 0, _SECONDS_MAX, ctx.reporter(line))
    if not result.ok:
        if what == "interval":
            message = f"vrrp script interval '{value}' must be between 1 and {_SECONDS_MAX} - ignoring"
        else:
            message = f"vrrp script timeout '{value}' invalid - ignoring"
        ctx.issues.error(f"({builder.name}): {message}", line.location)
        return
    seconds = result.value
    if seconds == 0:
        ctx.issues.warning(
            f"({builder.name}): vrrp script {what} must be greater than 0, setting to 1", line.location
        )
        seconds = 1
    if what == "interval":
        builder.interval_s = seconds
    else:
        builder.timeout_s = seconds


def _on_weight(ctx: ParseContext, line: ConfigLine) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    builder = _current(ctx)
    result = read_int(value, -253, 253, ctx.reporter(line))
    if not result.ok:
        ctx.issues.error(f"vrrp_script {builder.name} weight {value} must be in [-253, 253]", line.location)
    builder.weight = result.value
    if len(line.words) >= 3:
        if line.words[2] == "reverse":
            builder.weight_reverse = True
        else:
            ctx.issues.error(
                f"vrrp_script {builder.name} unknown weight option {line.words[2]}", line.location
            )


def _on_rise_fall(ctx: ParseContext, line: ConfigLine, what: str) -> None:
    value = ctx.walker.parameter(line, 1)
    if value is None:
        return
    builder = _current(ctx)
    result = read_unsigned(value, 1, 2**31 - 1, ctx.reporter(line))
    count = result.value if result.ok else 1
    if not result.ok:
        ctx.issues.error(
            f"({builder.name}): vrrp script {what} value '{value}' invalid, defaulting to 1", line.location
        )
    if what == "rise":
        builder.rise = count
    else:
        builder.fall = count


def _on_user(ctx: ParseContext, line: ConfigLine) -> None:
    user = ctx.walker.parameter(line, 1)
    if user is not None:
        builder = _current(ctx)
        builder.user = user
        builder.group = line.words[2] if len(line.words) > 2 else None


def _on_init_fail(ctx: ParseContext, line: ConfigLine) -> None:
    _current(ctx).init_fail = True


def _on_script_end(ctx: ParseContext) -> None:
    builder = _current(ctx)
    if not builder.argv:
        ctx.issues.error(f"No script set for vrrp_script {builder.name} - removing", ctx.walker.location)
        return
    ctx.scripts.append(
        VrrpScript(
            name=builder.name,
            script=NotifyScript(builder.argv, builder.user, builder.group, builder.script_location),
            interval_s=builder.interval_s,
            timeout_s=builder.timeout_s if builder.timeout_s is not None else builder.interval_s,
            weight=builder.weight,
            weight_reverse=builder.weight_reverse,
            rise=builder.rise,
            fall=builder.fall,
            user=builder.user,
            group=builder.group,
            init_fail=builder.init_fail,
            location=builder.location,
        )
    )


def vrrp_script_keyword(ctx: ParseContext) -> Keyword:
    """The top-level `vrrp_script NAME { ... }` keyword."""
    sub: Mapping[str, Keyword] = {
        "script": Keyword(lambda line: _on_script(ctx, line)),
        "interval": Keyword(lambda line: _on_seconds(ctx, line, "interval")),
        "timeout": Keyword(lambda line: _on_seconds(ctx, line, "timeout")),
        "weight": Keyword(lambda line: _on_weight(ctx, line)),
        "rise": Keyword(lambda line: _on_rise_fall(ctx, line, "rise")),
        "fall": Keyword(lambda line: _on_rise_fall(ctx, line, "fall")),
        "user": Keyword(lambda line: _on_user(ctx, line)),
        "init_fail": Keyword(lambda line: _on_init_fail(ctx, line)),
    }
    return Keyword(lambda line: _on_vrrp_script(ctx, line), sub=sub, end=lambda: _on_script_end(ctx))

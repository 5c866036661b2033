"""One log line per journal event and command of a resource group, for the daemon's log and journal.

The lines read like the tools operators know (`r0: Starting -> Started (every step of the start
plan is done)`) and always carry the cause, so that the log alone answers "why did it fail over".
Step effects have no line of their own: their `StepStarted` / `StepFinished` say it.
"""

from __future__ import annotations

from hapair.core.orchestrator.events import (
    FailIo,
    FenceVolume,
    GroupEffect,
    GroupStateChanged,
    IoModeChanged,
    Notice,
    PromotionRefused,
    ResumeIo,
    RunNotifyHooks,
    StepFinished,
    StepStarted,
    SuspendIo,
    VrrpConditionChanged,
)

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def journal_line(effect: GroupEffect) -> str | None:
    match effect:
        case GroupStateChanged(group=g, previous=previous, current=current, cause=cause):
            return f"{g}: {previous.value} -> {current.value} ({cause})"
        case StepStarted(group=g, step=step, op=op, timeout_ns=timeout):
            return f"{g}: {step.value} started (op {op}, timeout {timeout / NS_PER_S:g} s)"
        case StepFinished(group=g, step=step, ok=True, elapsed_ns=elapsed):
            return f"{g}: {step.value} done in {elapsed // NS_PER_MS} ms"
        case StepFinished(group=g, step=step, elapsed_ns=elapsed, reason=reason):
            return f"{g}: {step.value} failed after {elapsed // NS_PER_MS} ms: {reason}"
        case PromotionRefused(group=g, reason=reason, detail=detail):
            return f"{g}: promotion refused: {reason.value}" + (f" ({detail})" if detail else "")
        case IoModeChanged(group=g, previous=previous, current=current, cause=cause):
            return f"{g}: writes {previous.value} -> {current.value} ({cause})"
        case Notice(group=g, text=text):
            return f"{g}: {text}"
        case VrrpConditionChanged(group=g, instance=instance, condition=condition, ok=ok, cause=cause):
            return f"{g}: ({instance}) condition {condition} {'ok' if ok else 'failed'} ({cause})"
        case SuspendIo(group=g, resource=resource, cause=cause):
            return f"{g}: {resource}: suspending I/O ({cause})"
        case FailIo(group=g, resource=resource, cause=cause):
            return f"{g}: {resource}: failing I/O ({cause})"
        case ResumeIo(group=g, resource=resource, cause=cause):
            return f"{g}: {resource}: resuming I/O ({cause})"
        case FenceVolume(group=g, resource=resource, cause=cause):
            return f"{g}: {resource}: self-fencing: refusing all I/O and giving up Primary ({cause})"
        case RunNotifyHooks(group=g, instance=instance, state=state):
            return f"{g}: ({instance}) running the {state.value} notify hooks"
        case _:
            return None

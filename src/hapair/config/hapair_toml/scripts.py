"""What a keepalived notify script meant to do, read from its lines: hapair's built-in steps.

A runbook's notify scripts are small shell scripts such as

    drbd_master.sh: sudo drbdadm primary r0; sudo mkdir /drbd-fs; sudo mount /dev/drbd0 /drbd-fs
    drbd_backup.sh: sudo umount -f /dev/drbd0; sudo rmdir /drbd-fs; sudo drbdadm secondary r0

`read_intent(text)` recognises the commands whose work a resource group does itself (drbdadm
primary/secondary, mount/umount, mkdir/rmdir of the mount point, systemctl start/stop) and returns
them as an `ScriptIntent`, with a note for each line it did not understand and for each habit
hapair deliberately does not copy (`umount -f`, `rmdir`, `primary --force`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

_WRAPPERS = ("sudo", "exec", "command", "nohup")


@dataclass
class ScriptIntent:
    promotes: list[str] = field(default_factory=list)  # resources made Primary
    demotes: list[str] = field(default_factory=list)
    mounts: list[tuple[str, str, str | None, tuple[str, ...]]] = field(default_factory=list)
    unmounts: list[str] = field(default_factory=list)
    services_started: list[str] = field(default_factory=list)
    services_stopped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)


def read_intent(text: str, name: str) -> ScriptIntent:
    intent = ScriptIntent()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for command in _commands(line):
            _one(command, intent, f"{name}:{number}")
    return intent


def _commands(line: str) -> list[list[str]]:
    """The simple commands of a line (split at ; && ||), each without sudo and friends."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return [[line]]
    out: list[list[str]] = [[]]
    for word in words:
        if word in (";", "&&", "||"):
            out.append([])
        elif word.endswith(";") and len(word) > 1:
            out[-1].append(word[:-1])
            out.append([])
        else:
            out[-1].append(word)
    cleaned = []
    for command in out:
        start = 0
        while start < len(command) and command[start] in _WRAPPERS:
            start += 1
        if command[start:]:
            cleaned.append(command[start:])
    return cleaned


def _one(words: list[str], intent: ScriptIntent, where: str) -> None:
    program = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    plain = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if program == "drbdadm" and plain[:1] in (["primary"], ["secondary"]) and len(plain) >= 2:
        (intent.promotes if plain[0] == "primary" else intent.demotes).extend(plain[1:])
        if "--force" in flags:
            intent.notes.append(
                f"{where}: `drbdadm primary --force` is not carried over: hapair promotes "
                "only through its promotion gate"
            )
        return
    if program == "mount":
        _mount(args, intent, where)
        return
    if program == "umount" and plain:
        intent.unmounts.extend(plain)
        if any(f in ("-f", "--force", "-l", "--lazy") or f.startswith("-f") for f in flags):
            intent.notes.append(
                f"{where}: `umount {' '.join(flags)}` is not copied: hapair never forces or "
                "detaches an unmount; it stops the holders and then self-fences if it must"
            )
        return
    if program == "mkdir" and plain:
        intent.notes.append(f"{where}: mkdir {plain[-1]}: hapair creates a missing mount point itself")
        return
    if program == "rmdir" and plain:
        intent.notes.append(f"{where}: rmdir {plain[-1]} is not copied: hapair never removes the mount point")
        return
    if program == "systemctl" and len(plain) >= 2 and plain[0] in ("start", "restart", "stop"):
        units = [u if "." in u else f"{u}.service" for u in plain[1:]]
        (intent.services_stopped if plain[0] == "stop" else intent.services_started).extend(units)
        return
    intent.not_understood.append(f"{where}: {' '.join(words)}")


def _mount(args: list[str], intent: ScriptIntent, where: str) -> None:
    fstype: str | None = None
    options: list[str] = []
    positional: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "-t":
            fstype = next(it, None)
        elif arg == "-o":
            options += [o for o in next(it, "").split(",") if o]
        elif arg.startswith("-t") and len(arg) > 2:
            fstype = arg[2:]
        elif arg.startswith("-o") and len(arg) > 2:
            options += [o for o in arg[2:].split(",") if o]
        elif arg.startswith("-"):
            intent.notes.append(f"{where}: mount option {arg} is not carried over")
        else:
            positional.append(arg)
    if len(positional) != 2:
        intent.not_understood.append(f"{where}: mount {' '.join(args)}")
        return
    intent.mounts.append((positional[0], positional[1], fstype, tuple(options)))

"""`hapair lab ACTION`: the runbook's hosts as network namespaces on this machine.

    hapair lab up [--prefix P]                 build (or repair) the lab
    hapair lab status [--prefix P] [--json]    hosts, interfaces, addresses, MACs, VIP holder, processes
    hapair lab exec [--prefix P] HOST -- CMD   run CMD inside HOST on this terminal; its exit code
    hapair lab down [--prefix P]               end the lab's processes, remove its namespaces
    hapair lab demo                            the runbook's failover test, automated

Each action is a function in LAB_ACTIONS that adds its subparser; an action that needs the lab
takes `lab_options()` as a parent parser and builds the Lab with `lab_from_args(args)`. That is
all another action (such as `demo`) needs to sit beside these.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TypeAlias

from hapair.cli.main import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from hapair.errors import HapairError
from hapair.lab import DEFAULT_PREFIX, Lab, TopologyError, UnknownHostError, runbook_topology
from hapair.lab.topology import validate_prefix

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
LabCommand = Callable[[argparse.Namespace, Lab], int]


def _prefix(text: str) -> str:
    try:
        return validate_prefix(text)
    except TopologyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def lab_options() -> argparse.ArgumentParser:
    """The options every lab action shares (a parent parser for `add_parser(parents=[...])`)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--prefix",
        type=_prefix,
        default=DEFAULT_PREFIX,
        help=f"name prefix of the lab's namespaces: PREFIX-HOST, PREFIX-sw (default {DEFAULT_PREFIX})",
    )
    return options


def lab_from_args(args: argparse.Namespace) -> Lab:
    """The lab the parsed `--prefix` names, with the runbook's topology."""
    prefix: str = args.prefix
    return Lab(runbook_topology(), prefix=prefix)


def run_lab_command(command: LabCommand) -> Callable[[argparse.Namespace], int]:
    """Wrap an action so our errors print as one line and give exit code 1 (2 for a bad host name)."""

    def func(args: argparse.Namespace) -> int:
        try:
            return command(args, lab_from_args(args))
        except UnknownHostError as exc:
            print(f"hapair lab: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except HapairError as exc:
            print(f"hapair lab: {exc}", file=sys.stderr)
            return EXIT_FAILURE

    return func


def _up(args: argparse.Namespace, lab: Lab) -> int:
    lab.up()
    print(lab.status().render())
    return EXIT_OK


def _down(args: argparse.Namespace, lab: Lab) -> int:
    report = lab.down()
    if not report.namespaces:
        print(f"lab {lab.prefix}: nothing to remove")
    else:
        ended = "".join(f"\n  ended pid {p.pid}: {' '.join(p.argv)}" for p in report.processes)
        print(f"lab {lab.prefix}: removed {', '.join(report.namespaces)}{ended}")
    return EXIT_OK


def _status(args: argparse.Namespace, lab: Lab) -> int:
    status = lab.status()
    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        print(status.render())
    return EXIT_OK


def _exec(args: argparse.Namespace, lab: Lab) -> int:
    argv: list[str] = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("hapair lab exec: give a command after the host, e.g. `exec node1 -- ip addr`", file=sys.stderr)
        return EXIT_USAGE
    return lab.exec_interactive(args.host, argv)


def add_up(actions: SubParsers) -> None:
    parser = actions.add_parser(
        "up", parents=[lab_options()], help="build the lab (idempotent: repairs a partial one)"
    )
    parser.set_defaults(func=run_lab_command(_up))


def add_down(actions: SubParsers) -> None:
    parser = actions.add_parser(
        "down", parents=[lab_options()], help="end the lab's processes and remove its namespaces"
    )
    parser.set_defaults(func=run_lab_command(_down))


def add_status(actions: SubParsers) -> None:
    parser = actions.add_parser("status", parents=[lab_options()], help="show hosts, links, addresses")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(func=run_lab_command(_status))


def add_exec(actions: SubParsers) -> None:
    parser = actions.add_parser(
        "exec",
        parents=[lab_options()],
        help="run a command inside a host",
        description="Run CMD inside HOST's network namespace on this terminal; exit with its code.",
    )
    parser.add_argument("host", metavar="HOST", help="node1, node2, client, or sw (the switch, where br0 is)")
    parser.add_argument("command", metavar="-- CMD", nargs=argparse.REMAINDER, help="the command")
    parser.set_defaults(func=run_lab_command(_exec))


def _demo(args: argparse.Namespace) -> int:
    from hapair.lab.demo import run_demo

    prefix: str = args.prefix
    return run_demo(prefix=prefix)


def add_demo(actions: SubParsers) -> None:
    demo_options = argparse.ArgumentParser(add_help=False)
    demo_options.add_argument(
        "--prefix", type=_prefix, default="hapair-demo", help="name prefix of the demo's namespaces"
    )
    parser = actions.add_parser(
        "demo",
        parents=[demo_options],
        help="the runbook's failover test, automated: build the lab, fail the master, watch the VIP move",
    )
    parser.set_defaults(func=_demo)


LAB_ACTIONS: tuple[Callable[[SubParsers], None], ...] = (add_up, add_status, add_exec, add_down, add_demo)


def register(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="network-namespace lab: the runbook's hosts on this machine",
        description="The runbook's hosts (node1, node2, client on one switch) as network namespaces.",
    )
    actions = parser.add_subparsers(dest="lab_action", metavar="ACTION", required=True)
    for add in LAB_ACTIONS:
        add(actions)

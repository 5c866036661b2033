"""`hapair` command line: one console script, one subcommand per part.

Exit codes follow ../shared/DESIGN.md section 7: 0 ok, 1 runtime failure, 2 usage, 3 config.
Each part lives in its own module with a `register(subparsers)` function that adds its parser and
sets `func` to a callable taking the parsed namespace and returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from hapair import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3

# Subcommand modules, in the order `hapair --help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "hapair.cli.vrrp",
    "hapair.cli.witness",
    "hapair.cli.config",
    "hapair.cli.lab",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hapair",
        description="Two-node high availability: VRRP, replicated volume, NBD export, failover.",
    )
    parser.add_argument("--version", action="version", version=f"hapair {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    sys.exit(main())

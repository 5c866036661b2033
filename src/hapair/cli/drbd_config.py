"""Command-line plumbing for DRBD configuration files, for ``hapair adm`` verbs.

``-c FILE`` selects the configuration (``/etc/drbd.conf`` by default, as drbdadm) and ``--node NAME``
overrides the host name that picks "this node" (``uname -n`` by default; the lab runs both nodes
on one machine). A configuration with errors prints every error as ``FILE:LINE: message`` on
stderr and exits with status 3 (`hapair.cli.main.EXIT_CONFIG`); drbdadm exits with 10 instead.

Not registered as a subcommand here: ``hapair adm`` (owned by the volume shell) calls
`add_config_arguments` on its parser and `load_config` / `dump_command` from its verbs.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from hapair.adapters.drbd_files import LocalFileReader
from hapair.cli.main import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from hapair.config.drbd import DrbdConfig, dump_config, load_resources
from hapair.errors import ConfigErrors

DEFAULT_CONFIG = "/etc/drbd.conf"


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config-file",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help=f"DRBD configuration (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--node",
        metavar="NAME",
        help="act as the host NAME (default: uname -n); for floating sections, one of its addresses",
    )


def node_name(args: argparse.Namespace) -> str:
    node: str | None = getattr(args, "node", None)
    return node if node else os.uname().nodename


def load_config(args: argparse.Namespace, stderr: TextIO) -> DrbdConfig | None:
    """The configuration for `args`, or None after printing its errors (exit with EXIT_CONFIG)."""
    node = node_name(args)
    try:
        return load_resources(args.config_file, LocalFileReader(), node, local_addresses=(node,))
    except ConfigErrors as errors:
        for error in errors.errors:
            print(error.drbd_style(), file=stderr)
        return None


def dump_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``hapair adm dump [RESOURCE...]``: drbdadm's dump of the whole configuration or of the
    named resources (``all`` means every resource)."""
    config = load_config(args, stderr)
    if config is None:
        return EXIT_CONFIG
    names: list[str] = [n for n in getattr(args, "resources", []) if n != "all"]
    unknown = [n for n in names if n not in config.names()]
    if unknown:
        print(f"'{unknown[0]}' not defined in your config.", file=stderr)
        return EXIT_USAGE
    stdout.write(dump_config(config, names or None))
    return EXIT_OK

"""`hapair witness`: the third vote, run on a host other than the two nodes (the runbook's client).

    hapair witness -c /etc/hapair/hapair.toml          the [witness] table: address, port, secret
    hapair witness --listen ADDR[:PORT] --secret-file F [--node NAME ...]

It grants its vote for a resource to at most one node at a time, on leases that expire safely
under the configured clock-drift bound; nodes ask only when they cannot see each other.
Command-line options override the file. Logs go to the console (`-l` is accepted for symmetry
with `hapair vrrp`); `-D` adds lease renewals.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from hapair.adapters.secret_files import SecretFileError, read_secret_file
from hapair.adapters.udp_endpoint import UdpError, split_address
from hapair.cli.main import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from hapair.config.hapair_toml.parse import parse_hapair_toml
from hapair.core.witness import DEFAULT_WITNESS_PORT, LeaseTerms
from hapair.core.witness.arbiter import ArbiterSettings
from hapair.core.witness.codec import MIN_SECRET_LEN
from hapair.daemon.log_lines import console_handler
from hapair.daemon.witness_service import WitnessService
from hapair.errors import ConfigErrors, HapairError

DEFAULT_CONFIG = "/etc/hapair/hapair.toml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "witness",
        help="run the witness (third vote) on a third host",
        description="Grant the vote for each resource to at most one node at a time.",
    )
    parser.add_argument("-c", "--config", default=None, help=f"hapair.toml (default {DEFAULT_CONFIG})")
    parser.add_argument("--listen", default=None, help="ADDR[:PORT] to listen on (default: [witness])")
    parser.add_argument("--secret-file", default=None, help="file holding the shared secret")
    parser.add_argument(
        "--node", action="append", default=[], help="a node allowed to ask (repeat; default: any)"
    )
    parser.add_argument("-l", "--log-console", action="store_true", help="log to the console")
    parser.add_argument("-D", "--log-detail", action="store_true", help="log lease renewals too")
    parser.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> tuple[ArbiterSettings, tuple[str, int]]:
    """From the file (when given or present) and the flags; raises HapairError with the reason."""
    terms = LeaseTerms()
    listen: tuple[str, int] | None = None
    secret: bytes | None = None
    path = args.config or (DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None)
    if path is not None:
        config, _warnings = parse_hapair_toml(Path(path).read_text(encoding="utf-8"), path)
        if config.witness is None:
            raise HapairError(f"{path}: no [witness] table")
        witness = config.witness
        terms = witness.terms()
        listen = (witness.address, witness.port)
        if witness.secret is not None:
            secret = witness.secret
        elif witness.secret_file is not None:
            secret = read_secret_file(witness.secret_file, MIN_SECRET_LEN)
    if args.listen is not None:
        listen = split_address(args.listen, DEFAULT_WITNESS_PORT)
    if args.secret_file is not None:
        secret = read_secret_file(args.secret_file, MIN_SECRET_LEN)
    if listen is None:
        raise HapairError("give --listen ADDR[:PORT] or a hapair.toml with a [witness] table")
    if secret is None:
        raise HapairError("give --secret-file FILE or a hapair.toml with the witness secret")
    nodes = frozenset(args.node) if args.node else None
    return ArbiterSettings(secret=secret, terms=terms, nodes=nodes), listen


def run(args: argparse.Namespace) -> int:
    try:
        settings, listen = _settings(args)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return EXIT_CONFIG
    except (SecretFileError, UdpError, OSError, ValueError, HapairError) as exc:
        print(f"hapair witness: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    import logging

    root = logging.getLogger("hapair")
    root.handlers = [console_handler()]
    root.setLevel(logging.INFO)
    root.propagate = False
    service = WitnessService(settings, listen, detailed_log=args.log_detail)
    try:
        asyncio.run(_serve(service))
    except HapairError as exc:
        print(f"hapair witness: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


async def _serve(service: WitnessService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.run(stop)

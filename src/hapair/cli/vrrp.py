"""`hapair vrrp`: the VRRP engine as a drop-in for `keepalived -f FILE -n -l -D`.

    hapair vrrp -f FILE [-n] [-l] [-D] [-i ID] [--state-file PATH] [-p PIDFILE]
    hapair vrrp -t -f FILE        check the configuration only (exit 0 valid, 3 invalid)
    hapair vrrp status [--json] [--state-file PATH]

Without `-n` the engine detaches into the background as keepalived does; with `-l` it logs to the
console in keepalived's format, otherwise to syslog. `-D` adds keepalived's detailed lines. A
configuration with errors prints every one as `(FILE: Line N) message` and starts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from hapair import __version__
from hapair.adapters.config_files import check_keepalived_file
from hapair.cli.main import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK
from hapair.config.keepalived import Severity, config_test_exit_code, format_diagnostics
from hapair.config.vrrp_settings import runtime_config
from hapair.daemon.log_lines import console_handler, syslog_handler
from hapair.daemon.vrrp_service import VrrpService, VrrpServiceOptions
from hapair.daemon.vrrp_state_file import DEFAULT_STATE_FILE, read_state_file, render_status
from hapair.errors import ConfigErrors, HapairError

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
log = logging.getLogger("hapair.vrrp")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "vrrp",
        help="run VRRP from a keepalived.conf (keepalived-compatible)",
        description="Run the VRRP engine from a keepalived.conf, as keepalived -f FILE -n -l -D.",
    )
    parser.add_argument("action", nargs="?", choices=["run", "status"], default="run")
    parser.add_argument("-f", "--use-file", dest="config", default=DEFAULT_CONFIG, help="configuration")
    parser.add_argument("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    parser.add_argument("-l", "--log-console", action="store_true", help="log to the console")
    parser.add_argument("-D", "--log-detail", action="store_true", help="detailed log lines")
    parser.add_argument("-t", "--config-test", action="store_true", help="check the configuration only")
    parser.add_argument("-i", "--config-id", default=None, help="config id for @ID lines")
    parser.add_argument("-p", "--pid", dest="pidfile", default=None, help="write the PID here")
    parser.add_argument(
        "--state-file", type=Path, default=DEFAULT_STATE_FILE, help="JSON state file (status reads it)"
    )
    parser.add_argument("--json", action="store_true", help="status: print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "status":
        return show_status(args.state_file, as_json=args.json)
    config, diagnostics = check_keepalived_file(args.config, args.config_id)
    if args.config_test:
        text = format_diagnostics(diagnostics)
        if text:
            print(text, file=sys.stderr)
        return config_test_exit_code(diagnostics)
    blocking = [d for d in diagnostics if d.severity in (Severity.ERROR, Severity.FATAL)]
    if config is None or blocking:
        print(format_diagnostics(diagnostics, include_notes=False), file=sys.stderr)
        return EXIT_CONFIG
    try:
        runtime = runtime_config(config)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(error.keepalived_style(), file=sys.stderr)
        return EXIT_CONFIG
    if not args.dont_fork:
        _daemonize()
    _setup_logging(console=args.log_console)
    for diagnostic in diagnostics:
        if diagnostic.severity is Severity.WARNING:
            log.info("%s", diagnostic.keepalived_style())
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n", encoding="ascii")
    options = VrrpServiceOptions(
        detailed_log=args.log_detail,
        state_file=args.state_file,
        config_path=os.path.abspath(args.config),
        startup_delay_s=runtime.startup_delay_ns / 1e9,
    )
    service = VrrpService(runtime.instances, runtime.scripts, options)
    log.info("Starting hapair VRRP v%s (keepalived 2.2.7 compatible), pid %d", __version__, os.getpid())
    try:
        asyncio.run(_serve(service))
    except HapairError as exc:
        log.error("%s", exc)
        return EXIT_FAILURE
    finally:
        if args.pidfile:
            Path(args.pidfile).unlink(missing_ok=True)
    log.info("Stopped hapair VRRP v%s", __version__)
    return EXIT_OK


async def _serve(service: VrrpService) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.run(stop)


def _setup_logging(*, console: bool) -> None:
    root = logging.getLogger("hapair")
    root.handlers.clear()
    root.addHandler(console_handler() if console else syslog_handler())
    root.setLevel(logging.INFO)
    root.propagate = False


def _daemonize() -> None:
    """Detach as keepalived does without -n: fork, new session, fork again, stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def show_status(path: Path, *, as_json: bool) -> int:
    try:
        reading = read_state_file(path)
    except FileNotFoundError:
        print(f"hapair vrrp: no state file {path} (is `hapair vrrp` running?)", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, ValueError) as exc:
        print(f"hapair vrrp: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if as_json:
        print(json.dumps({"running": reading.alive, **reading.document}, indent=1, sort_keys=True))
    else:
        print(render_status(reading))
    return EXIT_OK if reading.alive else EXIT_FAILURE

"""`hapair config`: check a node's whole configuration, or write hapair.toml for an existing setup.

hapair config check [-c FILE] [--node NAME]
    hapair.toml (default /etc/hapair/hapair.toml) with the keepalived.conf and DRBD files it
    refers to, cross-checked. Every problem is printed as FILE:LINE: message on stderr; exit 0
    when the configuration can run, 3 when it cannot. Without --node the check is for this host
    (its name, interfaces and scripts); with --node it is for that node, without host facts.

hapair config import KEEPALIVED.CONF RES... [-o OUT] [--node NAME] [--force]
    hapair.toml for an existing keepalived + DRBD setup (the runbook's keepalived-with-notify.conf,
    global_common.conf and r0.res, say): the notify scripts' work becomes a resource group.
    Writes OUT (refusing to overwrite it without --force) or stdout; says what it inferred on
    stderr. Exit 3 when an input cannot be read as configuration.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import TextIO

from hapair.adapters.config_files import (
    FileSystemSources,
    default_config_id,
    interface_names,
    script_is_runnable,
)
from hapair.adapters.drbd_files import LocalFileReader
from hapair.cli.main import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from hapair.config.hapair_toml import (
    DEFAULT_CONFIG_PATH,
    CheckedConfig,
    Finding,
    KeepalivedHostFacts,
    Level,
    check_hapair_config,
    parse_hapair_toml,
)
from hapair.config.hapair_toml.importer import import_setup
from hapair.core.witness.codec import MIN_SECRET_LEN
from hapair.errors import ConfigErrors, SourceLocation


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", help="check hapair.toml and what it refers to; import a setup")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    check = verbs.add_parser("check", help="validate the whole configuration of a node (exit 3 if invalid)")
    check.add_argument("-c", "--config", default=DEFAULT_CONFIG_PATH, metavar="FILE", help="hapair.toml")
    check.add_argument("--node", metavar="NAME", help="check for node NAME instead of this host")
    check.set_defaults(func=run_check)
    imp = verbs.add_parser("import", help="write hapair.toml for an existing keepalived + DRBD setup")
    imp.add_argument("keepalived", metavar="KEEPALIVED.CONF")
    imp.add_argument("resources", nargs="+", metavar="RES", help="DRBD files (.res, global_common.conf)")
    imp.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    imp.add_argument("--node", metavar="NAME", help="write [node] name = NAME")
    imp.add_argument("--force", action="store_true", help="overwrite OUT")
    imp.set_defaults(func=run_import)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# ------------------------------------------------------------------------------------------- check


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def check_file(path: str, node: str | None) -> CheckedConfig:
    """The check `hapair config check` runs, with this host's facts unless `node` is given."""
    if node is None:
        facts = KeepalivedHostFacts(
            config_id=default_config_id(),
            known_interfaces=interface_names(),
            script_check=script_is_runnable,
            working_directory=os.getcwd(),
        )
        hostname = os.uname().nodename
    else:
        facts = KeepalivedHostFacts(config_id=node.split(".", 1)[0])
        hostname = node
    return check_hapair_config(
        path, _read_text, FileSystemSources(), LocalFileReader(), hostname=hostname, host_facts=facts
    )


def secret_file_findings(checked: CheckedConfig) -> list[Finding]:
    """The witness secret file must exist, be readable only by its owner, and be long enough."""
    config = checked.hapair
    if config is None or config.witness is None or config.witness.secret_file is None:
        return []
    path = config.witness.secret_file
    where = config.where(("witness", "secret_file"))
    try:
        info = os.stat(path)
        with open(path, "rb") as stream:
            secret = stream.read().strip()
    except OSError as exc:
        return [Finding(Level.ERROR, f"witness.secret_file {path}: {exc.strerror or exc}", where)]
    found = []
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.filemode(info.st_mode)
        found.append(Finding(Level.ERROR, f"witness.secret_file {path} is {mode}: chmod 600 it", where))
    if len(secret) < MIN_SECRET_LEN:
        found.append(
            Finding(Level.ERROR, f"witness.secret_file {path}: at least {MIN_SECRET_LEN} bytes", where)
        )
    return found


def run_check(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    checked = check_file(args.config, args.node)
    findings = [*checked.findings, *secret_file_findings(checked)]
    for finding in findings:
        print(finding.format(), file=err)
    if any(f.level is Level.ERROR for f in findings):
        errors = sum(1 for f in findings if f.level is Level.ERROR)
        print(
            f"{args.config}: {errors} error{'s' if errors != 1 else ''}; the configuration cannot run",
            file=err,
        )
        return EXIT_CONFIG
    groups = ", ".join(
        f"{g.settings.name} (VRRP {g.settings.instance}, resource {g.settings.resource} {g.settings.device})"
        for g in checked.groups
    )
    witness = checked.hapair.witness if checked.hapair is not None else None
    where = f"witness {witness.address}:{witness.port}" if witness is not None else "no witness"
    print(f"{args.config}: valid for node {checked.node}; groups: {groups or 'none'}; {where}", file=out)
    return EXIT_OK


# ------------------------------------------------------------------------------------------ import


def _read_script(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return stream.read()


def run_import(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    keepalived = os.path.abspath(args.keepalived)
    resources = [os.path.abspath(p) for p in args.resources]
    if args.output and os.path.exists(args.output) and not args.force:
        print(f"hapair config import: {args.output} exists; use --force to overwrite it", file=err)
        return EXIT_USAGE
    try:
        result = import_setup(
            keepalived, resources, FileSystemSources(), LocalFileReader(), _read_script, node=args.node
        )
    except ConfigErrors as errors:
        for error in errors.errors:
            print(error.drbd_style(), file=err)
        return EXIT_CONFIG
    try:
        parse_hapair_toml(result.toml, args.output or "<stdout>")
    except ConfigErrors as errors:  # our own output must read back: a bug if it does not
        print(f"hapair config import: internal error, the output does not parse: {errors}", file=err)
        return EXIT_FAILURE
    for note in result.notes:
        print(f"hapair config import: {note}", file=err)
    if not args.output:
        out.write(result.toml)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as stream:
            stream.write(result.toml)
    except OSError as exc:
        where = SourceLocation(args.output, 0)
        print(f"{where.drbd_style()}: cannot write: {exc.strerror or exc}", file=err)
        return EXIT_FAILURE
    print(
        f"hapair config import: wrote {args.output}; check it with `hapair config check -c {args.output}`",
        file=err,
    )
    return EXIT_OK

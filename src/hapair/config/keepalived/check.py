"""Entry points: read and check a keepalived.conf, as `keepalived -t -f FILE` does.

`check_config` never raises for a bad configuration: it returns the model (None when a FATAL
problem makes the configuration unusable) and every diagnostic, in the order found. The CLI
prints `format_diagnostics(...)` and exits with `config_test_exit_code(...)`; see
`hapair.config.keepalived.diagnostics` for what each severity means and why hapair's exit codes
differ from keepalived's.

Deliberate difference from keepalived: a missing or unreadable configuration file is FATAL (and
`hapair vrrp -t` exits 3), where `keepalived -t` prints "Config files missing 'FILE'." and exits 0.
"""

from __future__ import annotations

from collections.abc import Callable

from hapair.config.keepalived.blocks import BlockWalker
from hapair.config.keepalived.completion import complete
from hapair.config.keepalived.context import ParseContext, ParseOptions
from hapair.config.keepalived.diagnostics import ConfigDiagnostic, Diagnostics
from hapair.config.keepalived.global_section import top_level_keywords
from hapair.config.keepalived.linereader import LineReader
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.sources import SourceReader
from hapair.errors import ConfigErrors


def check_config(
    path: str,
    reader: SourceReader,
    config_id: str | None = None,
    *,
    known_interfaces: frozenset[str] | None = None,
    random_int: Callable[[int, int], int] | None = None,
    working_directory: str = "",
    script_check: Callable[[str], bool] | None = None,
) -> tuple[KeepalivedConfig | None, list[ConfigDiagnostic]]:
    """Read `path` (and its includes) through `reader`; return the model and all diagnostics.

    `config_id` is keepalived's `-i` (default there: the host name up to the first dot; the
    caller supplies it, the parser does no I/O). `known_interfaces`, when given, makes the check
    report interfaces that do not exist, as keepalived does. `random_int(low, high)` feeds
    `${_RANDOM}` (default: always `low`). `working_directory` makes `${_PWD}` absolute for a
    relative `path`. `script_check(program)`, when given, tells whether a script's program can
    be run; tracked scripts that cannot are disabled with keepalived's message.
    """
    issues = Diagnostics()
    options = ParseOptions(
        config_id=config_id,
        known_interfaces=known_interfaces,
        random_int=random_int,
        working_directory=working_directory,
        script_check=script_check,
    )
    matches = reader.glob(path)
    if not matches:
        issues.fatal(f"Config files missing '{path}'.", None)
        return None, issues.items
    if len(matches) > 1:
        issues.error(
            f"WARNING, multiple configuration file matches of {path}, starting with {matches[0]}", None
        )
    main = matches[0]
    lines = LineReader(
        reader, issues, config_id=config_id, random_int=random_int, working_directory=working_directory
    ).read(main)
    walker = BlockWalker(lines, issues)
    ctx = ParseContext(issues=issues, walker=walker, options=options)
    walker.run(top_level_keywords(ctx))
    config = complete(ctx, main)
    return (None if issues.has_fatal else config), issues.items


def load_config(
    path: str,
    reader: SourceReader,
    config_id: str | None = None,
    *,
    known_interfaces: frozenset[str] | None = None,
) -> KeepalivedConfig:
    """The model of a configuration that passes the check; raises `ConfigErrors` otherwise."""
    config, diagnostics = check_config(path, reader, config_id, known_interfaces=known_interfaces)
    failures = [d for d in diagnostics if d.severity.fails_check]
    if config is None or failures:
        raise ConfigErrors(d.to_error() for d in failures)
    return config

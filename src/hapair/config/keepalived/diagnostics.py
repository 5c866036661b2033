"""Diagnostics of the keepalived.conf reader, in keepalived's own words.

Every problem found while reading a configuration becomes a `ConfigDiagnostic`: a severity, the
message (worded as keepalived 2.2.7 words it wherever keepalived has a message for the case) and the
place it comes from. Printed, a diagnostic reads exactly like keepalived's `-t` output:
`(FILE: Line N) message`.

Severity, and what `-t` does with it
------------------------------------
keepalived 2.2.7 `keepalived -t -f FILE` prints every configuration problem on stderr and exits
with (measured on Debian 12, see tests/interop/test_kaconf_vs_keepalived.py):

* 0 when nothing was reported. Quirk: a missing configuration file or a missing `include` file is
  only logged ("Config files missing 'X'.") and the exit code stays 0;
* 5 (KEEPALIVED_EXIT_CONFIG_TEST) when anything was reported, warnings included (an unknown keyword,
  "Truncating auth_pass to 8 characters", "No VIP specified; at least one is sensible", ...);
* 6 (KEEPALIVED_EXIT_CONFIG_TEST_SECURITY) when scripts would run as root without
  `enable_script_security`;
* 2 when a keyword lacks its parameter: keepalived stops reading at "*** Configuration line
  starting `priority` is missing a parameter ..." (the man page's 3/4/5 list does not match the
  binary).

hapair decides deliberately (`config_test_exit_code`): any WARNING, ERROR or FATAL diagnostic
makes `hapair vrrp -t` exit with the config exit code 3 (DESIGN.md section 7), so hapair rejects
what keepalived rejects; it is stricter where keepalived is lax: a missing configuration or include
file is an error, not a log line. A NOTE is hapair's own remark (for instance "accepted but not
used by hapair") and never fails the check. FATAL means the configuration cannot be used at all
(the file cannot be read, or keepalived itself would abort reading); `check_config` then returns no
model. Unlike keepalived, hapair keeps reading after a missing parameter so that every problem is
reported in one run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from hapair.errors import ConfigError, SourceLocation

EXIT_OK = 0
EXIT_CONFIG = 3  # DESIGN.md section 7; hapair.cli.main.EXIT_CONFIG has the same value.


class Severity(enum.Enum):
    """How bad a diagnostic is; see the module docstring for what each does to `-t`."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"
    FATAL = "fatal"

    @property
    def fails_check(self) -> bool:
        return self is not Severity.NOTE


@dataclass(frozen=True, slots=True)
class ConfigDiagnostic:
    """One problem in a keepalived configuration.

    `location` is None only for problems that belong to no line (the configuration file itself is
    missing); everything found while reading lines, and the checks keepalived runs after reading
    (which keepalived prints without a place), carry the line they are about.
    """

    severity: Severity
    message: str
    location: SourceLocation | None = None

    def keepalived_style(self) -> str:
        """The diagnostic as keepalived prints it: `(FILE: Line N) message`."""
        if self.location is None:
            return self.message
        return f"{self.location.keepalived_style()} {self.message}"

    def to_error(self) -> ConfigError:
        """The diagnostic as the project-wide `ConfigError` (file "" and line 0 when unplaced)."""
        if self.location is None:
            return ConfigError("", 0, self.message)
        return ConfigError(self.location.file, self.location.line, self.message)


@dataclass(slots=True)
class Diagnostics:
    """Collects diagnostics in the order they are found (which is keepalived's order)."""

    items: list[ConfigDiagnostic] = field(default_factory=list)

    def report(self, severity: Severity, message: str, location: SourceLocation | None) -> None:
        self.items.append(ConfigDiagnostic(severity, message, location))

    def note(self, message: str, location: SourceLocation | None) -> None:
        self.report(Severity.NOTE, message, location)

    def warning(self, message: str, location: SourceLocation | None) -> None:
        self.report(Severity.WARNING, message, location)

    def error(self, message: str, location: SourceLocation | None) -> None:
        self.report(Severity.ERROR, message, location)

    def fatal(self, message: str, location: SourceLocation | None) -> None:
        self.report(Severity.FATAL, message, location)

    @property
    def has_fatal(self) -> bool:
        return any(d.severity is Severity.FATAL for d in self.items)


def format_diagnostic(diagnostic: ConfigDiagnostic) -> str:
    """One diagnostic as `(FILE: Line N) message`, the form keepalived -t prints."""
    return diagnostic.keepalived_style()


def format_diagnostics(diagnostics: Iterable[ConfigDiagnostic], *, include_notes: bool = True) -> str:
    """Every diagnostic on its own line (no trailing newline); notes can be left out."""
    return "\n".join(
        format_diagnostic(d) for d in diagnostics if include_notes or d.severity is not Severity.NOTE
    )


def config_test_exit_code(diagnostics: Iterable[ConfigDiagnostic]) -> int:
    """Exit code of `hapair vrrp -t`: 0 when nothing but notes was found, else 3 (config)."""
    return EXIT_CONFIG if any(d.severity.fails_check for d in diagnostics) else EXIT_OK

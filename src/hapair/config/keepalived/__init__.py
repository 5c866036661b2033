"""keepalived.conf, read as keepalived 2.2.7 reads it (pure: files come from a `SourceReader`).

Public API:

* `check_config(path, reader, config_id=None, *, known_interfaces=None, random_int=None,
  working_directory="", script_check=None) -> (KeepalivedConfig | None, list[ConfigDiagnostic])`
  (`hapair.adapters.config_files.check_keepalived_file(path, config_id=None)` supplies this
  host's files, interfaces, host-name config id and script check)
* `load_config(path, reader, config_id=None, *, known_interfaces=None) -> KeepalivedConfig`
  (raises `hapair.errors.ConfigErrors`)
* `format_diagnostic(d)` / `format_diagnostics(ds)`: `(FILE: Line N) message` lines
* `config_test_exit_code(ds)`: 0 or 3, the exit code of `hapair vrrp -t`
* `dump_config(config) -> str`: a normalised, stable text dump of the model
* the model in `hapair.config.keepalived.model`; `InMemorySources` for tests
"""

from hapair.config.keepalived.check import check_config, load_config
from hapair.config.keepalived.diagnostics import (
    ConfigDiagnostic,
    Severity,
    config_test_exit_code,
    format_diagnostic,
    format_diagnostics,
)
from hapair.config.keepalived.dump import dump_config
from hapair.config.keepalived.model import (
    PREFERRED_LFT_FOREVER,
    AddressFamily,
    Authentication,
    AuthType,
    GlobalDefs,
    IgnoredKeyword,
    InitialState,
    KeepalivedConfig,
    NotifyFifo,
    NotifyScript,
    TrackedInterface,
    TrackedScript,
    UnicastPeer,
    VirtualAddress,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)
from hapair.config.keepalived.sources import InMemorySources, SourceReader, SourceUnavailable

__all__ = [
    "PREFERRED_LFT_FOREVER",
    "AddressFamily",
    "AuthType",
    "Authentication",
    "ConfigDiagnostic",
    "GlobalDefs",
    "IgnoredKeyword",
    "InMemorySources",
    "InitialState",
    "KeepalivedConfig",
    "NotifyFifo",
    "NotifyScript",
    "Severity",
    "SourceReader",
    "SourceUnavailable",
    "TrackedInterface",
    "TrackedScript",
    "UnicastPeer",
    "VirtualAddress",
    "VrrpInstance",
    "VrrpScript",
    "VrrpSyncGroup",
    "check_config",
    "config_test_exit_code",
    "dump_config",
    "format_diagnostic",
    "format_diagnostics",
    "load_config",
]

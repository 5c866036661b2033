"""hapair's own configuration file, hapair.toml, and the check of a node's whole configuration.

- `parse_hapair_toml(text, path) -> (HapairConfig, warnings)`: the file alone (raises
  `hapair.errors.ConfigErrors`, every error FILE:LINE);
- `check_hapair_config(path, read_text, keepalived_reader, drbd_reader, hostname=...,
  host_facts=...) -> CheckedConfig`: the file with the keepalived and DRBD configuration it refers
  to (or carries natively), cross-checked; `CheckedConfig.groups` are `ResolvedGroup`s with the
  orchestrator's `GroupSettings` and the VRRP `InstanceSettings` to run;
- `import_setup(...)` (in `importer`): hapair.toml for an existing keepalived + DRBD setup.
"""

from hapair.config.hapair_toml.check import (
    CheckedConfig,
    Finding,
    KeepalivedHostFacts,
    Level,
    ResolvedGroup,
    check_hapair_config,
)
from hapair.config.hapair_toml.lines import TomlLineMap
from hapair.config.hapair_toml.model import (
    DEFAULT_CONFIG_PATH,
    GroupConfig,
    HapairConfig,
    NativeText,
    NotifyHooks,
    WitnessConfig,
)
from hapair.config.hapair_toml.parse import parse_hapair_toml

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "CheckedConfig",
    "Finding",
    "GroupConfig",
    "HapairConfig",
    "KeepalivedHostFacts",
    "Level",
    "NativeText",
    "NotifyHooks",
    "ResolvedGroup",
    "TomlLineMap",
    "WitnessConfig",
    "check_hapair_config",
    "parse_hapair_toml",
]

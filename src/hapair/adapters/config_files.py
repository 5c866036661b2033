"""Configuration files from the real file system, for the pure configuration parsers.

`FileSystemSources` is the `SourceReader` the CLI hands to `hapair.config.keepalived`: it reads
UTF-8 text (undecodable bytes are replaced, never fatal, so a comment in another encoding cannot
stop a node) and expands globs to regular files in sorted order, as keepalived's glob() does.
The host facts the parser may need are read here too: keepalived's default config id (the host
name up to the first dot) and the names of the network interfaces.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import stat

from hapair.config.keepalived.check import check_config
from hapair.config.keepalived.diagnostics import ConfigDiagnostic
from hapair.config.keepalived.model import KeepalivedConfig
from hapair.config.keepalived.sources import SourceUnavailable


class FileSystemSources:
    """A `SourceReader` over the local file system."""

    def read(self, path: str) -> str:
        try:
            info = os.stat(path)
        except OSError as exc:
            raise SourceUnavailable(path, exc.strerror or str(exc)) from exc
        if not stat.S_ISREG(info.st_mode):
            raise SourceUnavailable(path, "not a regular file")
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError as exc:
            raise SourceUnavailable(path, exc.strerror or str(exc)) from exc
        return data.decode("utf-8", errors="replace")

    def glob(self, pattern: str) -> list[str]:
        matches = glob.glob(pattern) if glob.has_magic(pattern) else [pattern]
        return sorted(path for path in matches if os.path.isfile(path))


def default_config_id() -> str:
    """keepalived's default `-i`: the host name up to its first dot."""
    return socket.gethostname().split(".", 1)[0]


def interface_names() -> frozenset[str]:
    """Names of the network interfaces of this network namespace."""
    return frozenset(name for _, name in socket.if_nameindex())


def script_is_runnable(program: str) -> bool:
    """Whether keepalived could run `program`: an executable path, or a name found on PATH."""
    if "/" in program:
        return os.path.isfile(program) and os.access(program, os.X_OK)
    return shutil.which(program) is not None


def check_keepalived_file(
    path: str, config_id: str | None = None
) -> tuple[KeepalivedConfig | None, list[ConfigDiagnostic]]:
    """`check_config` with this host's facts, as `hapair vrrp -t -f FILE [-i ID]` needs it.

    Files come from the file system, the config id defaults to the host name up to the first
    dot, interface names are this namespace's, and script programs are checked for being
    runnable; `${_PWD}` is made absolute from the current directory.
    """
    return check_config(
        path,
        FileSystemSources(),
        config_id if config_id is not None else default_config_id(),
        known_interfaces=interface_names(),
        script_check=script_is_runnable,
        working_directory=os.getcwd(),
    )

"""Real file access for the DRBD configuration parser (`hapair.config.drbd.source.SourceReader`).

Text is decoded as UTF-8 with ``surrogateescape``, so a comment in another encoding does not stop
the parser (only a token that is not plain text is an error); OS errors reach the parser as OSError,
which reports them as ``FILE:LINE: Failed to open include file ...``.
"""

from __future__ import annotations

import glob as _glob
from pathlib import Path


class LocalFileReader:
    """Reads configuration files from the local file system."""

    def read(self, path: str) -> str:
        return Path(path).read_bytes().decode("utf-8", errors="surrogateescape")

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(pattern))

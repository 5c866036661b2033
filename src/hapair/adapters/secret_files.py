"""Shared secrets kept in files (the witness secret): read with the checks an operator expects.

The file must be a regular file readable by its owner only (like ssh keys); trailing whitespace
and newlines are not part of the secret, so `echo secret > file` works.
"""

from __future__ import annotations

import os
import stat

from hapair.errors import AdapterError


class SecretFileError(AdapterError):
    """The secret file is missing, unreadable, too open, or too short."""


def read_secret_file(path: str, min_length: int) -> bytes:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"{path}: not a regular file")
        with open(path, "rb") as stream:
            secret = stream.read().rstrip()
    except OSError as exc:
        raise SecretFileError(f"{path}: {exc.strerror or exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(f"{path} is {stat.filemode(info.st_mode)}: chmod 600 it")
    if len(secret) < min_length:
        raise SecretFileError(f"{path}: the secret must have at least {min_length} bytes")
    return secret

"""Files replaced atomically, and files only their owner may read (the password hash, the
key-encryption key)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

OWNER_ONLY = 0o600


def write_owner_only(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 from its creation (never readable by
    others, even for a moment). On Windows the mode is ignored: the file inherits its
    folder's ACL (docs/ADMIN.md)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, data, OWNER_ONLY)


def replace_file(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path``'s content with ``data`` all at once: a temp file beside it (created
    with ``mode``), flushed to disk, then ``os.replace``; a reader sees the old file or the
    new one, never half of it. The temp file is removed on failure."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def others_can_read(path: Path) -> bool:
    """Whether the group or others have any access to ``path`` (always False on Windows,
    where modes do not apply)."""
    if sys.platform == "win32":
        return False
    return bool(path.stat().st_mode & 0o077)

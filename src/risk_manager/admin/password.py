"""The admin password (docs/ADMIN.md "Security model"): an argon2id hash in a file only its
owner can read; the password itself is never stored, logged or returned."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from risk_manager.config.owner_file import others_can_read, write_owner_only
from risk_manager.domain.errors import RefuseToStart

MIN_LENGTH = 8

# argon2-cffi's defaults are RFC 9106's "low memory" argon2id profile (64 MiB, 3 passes).
_HASHER = PasswordHasher()


class PasswordRefused(ValueError):
    """A new password that does not meet the rules (too short)."""


class PasswordFile:
    """The argon2id hash of the admin password at ``path`` (``admin.password_file``).

    Raises :class:`RefuseToStart` when the file is readable by others or not a hash: an
    admin surface with a leaked or broken hash must not open."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_set(self) -> bool:
        """Whether a password was ever set."""
        return self.path.exists()

    def _hash(self) -> str:
        if others_can_read(self.path):
            raise RefuseToStart(
                f"{self.path} is readable by other users: run chmod 600 on it (or set the "
                "password again)"
            )
        text = self.path.read_text(encoding="ascii").strip()
        if not text.startswith("$argon2id$"):
            raise RefuseToStart(f"{self.path} does not hold an argon2id hash: set the password")
        return text

    def fingerprint(self) -> str | None:
        """What changes whenever the password does (the file's modification time and size,
        never the hash itself): a token is good only under the password it was issued with.
        None when no password is set."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"

    def verify(self, password: str) -> bool:
        """Whether ``password`` is the admin password; False when none is set."""
        if not self.is_set():
            return False
        try:
            return _HASHER.verify(self._hash(), password)
        except (VerificationError, InvalidHashError):
            return False

    def set(self, password: str) -> None:
        """Store the hash of a new password (at least ``MIN_LENGTH`` characters), mode 0600."""
        if len(password) < MIN_LENGTH:
            raise PasswordRefused(f"the password needs at least {MIN_LENGTH} characters")
        write_owner_only(self.path, (_HASHER.hash(password) + "\n").encode("ascii"))

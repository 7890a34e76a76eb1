"""The broker's API key at rest (docs/ADMIN.md "Credentials at rest"): AES-256-GCM under a
key-encryption key (KEK) from ``RISK_MANAGER_KEK`` (base64 of 32 bytes) or, without it, from
``admin.key_file`` (created 0600 by ``admin credentials set``).

The file holds ``broker.api_key_encrypted: "v1:<base64 nonce + ciphertext>"``; the loader
decrypts it at start. Messages never carry the key, the KEK or the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from risk_manager.config.errors import ConfigError
from risk_manager.config.owner_file import others_can_read, write_owner_only

KEK_ENV = "RISK_MANAGER_KEK"
KEK_BYTES = 32
NONCE_BYTES = 12
PREFIX = "v1:"
# Binds a ciphertext to its use: it cannot be moved into another field and decrypt there.
_AAD = b"risk-manager broker.api_key v1"


def _decode_kek(text: str, where: str) -> bytes:
    try:
        kek = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError([f"{where}: is not base64"]) from None
    if len(kek) != KEK_BYTES:
        raise ConfigError([f"{where}: must decode to {KEK_BYTES} bytes, got {len(kek)}"])
    return kek


def read_kek(key_file: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The KEK from ``RISK_MANAGER_KEK`` or else ``key_file``; :class:`ConfigError` when
    neither holds one, or the file is readable by others (fail closed: a leaked KEK is no
    protection)."""
    environment = os.environ if env is None else env
    if environment.get(KEK_ENV):
        return _decode_kek(environment[KEK_ENV], KEK_ENV)
    if not key_file.exists():
        raise ConfigError(
            [
                f"broker.api_key_encrypted: no key-encryption key: set {KEK_ENV} or restore "
                f"the key file {key_file} (admin.key_file)"
            ]
        )
    if others_can_read(key_file):
        raise ConfigError([f"{key_file}: is readable by other users: run chmod 600 on it"])
    return _decode_kek(key_file.read_text(encoding="ascii"), str(key_file))


def kek_for_writing(key_file: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The KEK to encrypt with: the existing one, or a new random one written to
    ``key_file`` (0600) when there is none yet."""
    environment = os.environ if env is None else env
    if environment.get(KEK_ENV) or key_file.exists():
        return read_kek(key_file, environment)
    kek = AESGCM.generate_key(bit_length=KEK_BYTES * 8)
    write_owner_only(key_file, base64.b64encode(kek) + b"\n")
    return kek


def encrypt_secret(plain: str, kek: bytes) -> str:
    """``plain`` sealed with AES-GCM under ``kek`` (a fresh random nonce each time)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(kek).encrypt(nonce, plain.encode("utf-8"), _AAD)
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt_secret(token: str, kek: bytes) -> str:
    """The plain text of :func:`encrypt_secret`'s ``token``; :class:`ConfigError` when it is
    malformed or was sealed under another KEK (or tampered with)."""
    where = "broker.api_key_encrypted"
    if not token.startswith(PREFIX):
        raise ConfigError([f"{where}: unknown format (expected {PREFIX}...)"])
    try:
        raw = base64.b64decode(token[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError([f"{where}: is not base64"]) from None
    if len(raw) <= NONCE_BYTES:
        raise ConfigError([f"{where}: too short"])
    try:
        plain = AESGCM(kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _AAD)
    except InvalidTag:
        raise ConfigError(
            [f"{where}: cannot be decrypted with this key-encryption key (wrong KEK or altered)"]
        ) from None
    return plain.decode("utf-8")

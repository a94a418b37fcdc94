"""Encryption of secrets at rest.

The key is derived from PLAYDECK_SECRET_KEY, so changing that key makes stored
credentials unreadable: they must then be entered again.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current secret key."""


@cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"playdeck credential encryption",
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _current() -> Fernet:
    return _fernet(current_app.config["PLAYDECK"].secret_key)


def encrypt(text: str) -> bytes:
    return _current().encrypt(text.encode())


def decrypt(token: bytes) -> str:
    try:
        return _current().decrypt(token).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted: was PLAYDECK_SECRET_KEY changed? "
            "Enter the credential's secret again."
        ) from exc

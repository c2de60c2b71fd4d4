"""Secrets stored encrypted at rest (e.g. Twilio auth tokens), with Fernet.

Keys come from FIELD_ENCRYPTION_KEY (comma-separated Fernet keys; the first
encrypts, all decrypt, so a key can be rotated) or, when unset, a key derived
from SECRET_KEY. https://cryptography.io/en/latest/fernet/
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    # A domain-separated digest so the encryption key is not SECRET_KEY itself.
    derived = hashlib.sha256(b"rapport-field-encryption:" + secret_key.encode()).digest()
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _current() -> MultiFernet:
    keys = tuple(k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k.strip())
    return _fernet(keys, settings.SECRET_KEY)


def encrypt_text(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    """Raises ValueError when the token was not made with any configured key."""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: wrong FIELD_ENCRYPTION_KEY or SECRET_KEY") from exc

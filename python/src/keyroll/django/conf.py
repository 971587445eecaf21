"""The keyring the Django fields use, from one settings entry.

``KEYROLL = {"KEYRING": "env"}`` (the default) loads ``keyroll.Keyring.from_env()`` — the same
variables every keyroll process reads (``KEYROLL_KEYRING`` with ``KEYROLL_MASTER_KEY`` or
``KEYROLL_PASSPHRASE``, or ``ENCRYPTION_KEY``/``ENCRYPTION_KEY_PREVIOUS``), through the one
environment parser in the core. ``"KEYRING"`` may instead be a dotted path to (or a) callable
returning the current :class:`keyroll.Keyring`, for a live-reloading handle.

``"LEGACY"`` lists old libraries whose keys are imported into that keyring, in memory, as
legacy Fernet versions so their rows open: ``"django-fernet-fields"`` (keys derived from
``FERNET_KEYS``, else ``SECRET_KEY``; ``FERNET_USE_HKDF = False`` honoured) and
``"django-fernet-encrypted-fields"`` (``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` with each
``SALT_KEY``). The derivations are the core's (``keyroll._native.fernet_key_*``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from keyroll._native import (
    FernetKey,
    Keyring,
    fernet_key_django_fernet_fields,
    fernet_key_fernet_encrypted_fields,
)

__all__ = ["keyring", "reset"]

_LEGACY = ("django-fernet-fields", "django-fernet-encrypted-fields")
_lock = threading.Lock()
_cached: Keyring | None = None


def _config() -> dict[str, Any]:
    config = getattr(settings, "KEYROLL", {})
    if not isinstance(config, dict):
        raise ImproperlyConfigured('settings.KEYROLL must be a dict, e.g. {"KEYRING": "env"}')
    unknown = set(config) - {"KEYRING", "LEGACY"}
    if unknown:
        raise ImproperlyConfigured(f"unknown settings.KEYROLL entries: {sorted(unknown)}")
    for name in config.get("LEGACY", ()):
        if name not in _LEGACY:
            raise ImproperlyConfigured(f"KEYROLL LEGACY: {name!r} is not one of {_LEGACY}")
    return config


def legacy_keys() -> list[FernetKey]:
    """The Fernet keys of the old libraries named in ``KEYROLL["LEGACY"]``."""
    keys: list[FernetKey] = []
    legacy = _config().get("LEGACY", ())
    if "django-fernet-fields" in legacy:
        entries = getattr(settings, "FERNET_KEYS", None) or [settings.SECRET_KEY]
        if getattr(settings, "FERNET_USE_HKDF", True):
            keys += [fernet_key_django_fernet_fields(k) for k in entries]
        else:
            keys += [FernetKey(k) for k in entries]
    if "django-fernet-encrypted-fields" in legacy:
        salts = settings.SALT_KEY if isinstance(settings.SALT_KEY, list) else [settings.SALT_KEY]
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        keys += [fernet_key_fernet_encrypted_fields(s, salt) for s in secrets for salt in salts]
    return keys


def _source() -> Callable[[], Keyring]:
    spec = _config().get("KEYRING", "env")
    if spec == "env":
        return Keyring.from_env
    if isinstance(spec, str):
        spec = import_string(spec)
    if isinstance(spec, Keyring):
        ring = spec
        return lambda: ring
    if not callable(spec):
        raise ImproperlyConfigured('KEYROLL["KEYRING"] must be "env", a callable or its path')
    return spec  # type: ignore[no-any-return]


def keyring() -> Keyring:
    """The current keyring, with the legacy keys imported. Loaded once ("env") or asked of
    the configured callable on every use (a new keyring object gets the legacy keys once)."""
    global _cached
    spec = _config().get("KEYRING", "env")
    with _lock:
        if spec == "env" and _cached is not None:
            return _cached
        ring: Keyring = _source()()
        if not isinstance(ring, Keyring):
            raise ImproperlyConfigured('KEYROLL["KEYRING"] must give a keyroll.Keyring')
        if ring is _cached:
            return ring
        keys = legacy_keys()
        if keys:
            ring.import_fernet(keys)
        _cached = ring
        return ring


def reset(**_: Any) -> None:
    """Forgets the loaded keyring (tests; settings changes)."""
    global _cached
    with _lock:
        _cached = None


setting_changed.connect(reset)

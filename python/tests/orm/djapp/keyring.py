"""The keyring the test settings hand to keyroll.django (``KEYROLL["KEYRING"]``)."""

from __future__ import annotations

import keyroll

CURRENT: list[keyroll.Keyring] = [keyroll.Keyring.generate()]


def current() -> keyroll.Keyring:
    return CURRENT[0]

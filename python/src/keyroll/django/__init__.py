"""Django model fields encrypted with a keyroll keyring, blind indexes, ``keyroll_migrate``.

Settings: ``KEYROLL = {"KEYRING": "env"}`` (see :mod:`keyroll.django.conf`), and
``"keyroll.django"`` in ``INSTALLED_APPS`` for the management command.

>>> from keyroll.django import BlindIndexField, EncryptedTextField  # doctest: +SKIP
>>> class Person(models.Model):  # doctest: +SKIP
...     email = EncryptedTextField()
...     email_bi = BlindIndexField("email")
>>> Person.objects.filter(email__blind="Alice@Example.com")  # doctest: +SKIP
"""

from keyroll.django.fields import (
    BlindIndexField,
    EncryptedBinaryField,
    EncryptedJSONField,
    EncryptedTextField,
)

__all__ = ["BlindIndexField", "EncryptedBinaryField", "EncryptedJSONField", "EncryptedTextField"]

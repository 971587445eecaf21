"""Models of the Django suite: a keyroll app, and the same tables as apps on
django-fernet-fields and django-fernet-encrypted-fields declared them."""

from __future__ import annotations

import django.utils.encoding
from django.db import models

# django-fernet-fields 0.6 (its last release, 2019) imports force_text, which Django 4.0
# removed: it does not import on current Django. The suite only uses it to WRITE old rows,
# so it gets the alias back here (force_text was force_str's old name).
if not hasattr(django.utils.encoding, "force_text"):
    django.utils.encoding.force_text = django.utils.encoding.force_str  # type: ignore[attr-defined]

import encrypted_fields.fields as fernet_encrypted_fields  # noqa: E402
import fernet_fields  # noqa: E402

from keyroll.django import (  # noqa: E402
    BlindIndexField,
    EncryptedBinaryField,
    EncryptedJSONField,
    EncryptedTextField,
)


class Person(models.Model):
    name = models.CharField(max_length=40, default="")
    email = EncryptedTextField(null=True)
    notes = EncryptedJSONField(null=True)
    photo = EncryptedBinaryField(null=True)
    email_bi = BlindIndexField("email", null=True)

    class Meta:
        app_label = "djapp"
        db_table = "people"


class OldCustomer(models.Model):
    """As the app declared it on django-fernet-fields."""

    name = models.CharField(max_length=40, default="")
    email = fernet_fields.EncryptedTextField(null=True)

    class Meta:
        app_label = "djapp"
        db_table = "customers"


class Customer(models.Model):
    """The same app after step 1: field classes changed, a blind index added."""

    name = models.CharField(max_length=40, default="")
    email = EncryptedTextField(binary_column=True, null=True)
    email_bi = BlindIndexField("email", null=True)

    class Meta:
        app_label = "djapp"
        db_table = "customers"
        managed = False


class OldAccount(models.Model):
    """As an app on django-fernet-encrypted-fields declared it."""

    token = fernet_encrypted_fields.EncryptedTextField(null=True)

    class Meta:
        app_label = "djapp"
        db_table = "accounts"


class Account(models.Model):
    token = EncryptedTextField(null=True)

    class Meta:
        app_label = "djapp"
        db_table = "accounts"
        managed = False

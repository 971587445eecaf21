"""The Django app (``INSTALLED_APPS += ["keyroll.django"]``) that provides ``keyroll_migrate``."""

from __future__ import annotations

from django.apps import AppConfig


class KeyrollConfig(AppConfig):
    name = "keyroll.django"
    label = "keyroll"
    verbose_name = "keyroll"

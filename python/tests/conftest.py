"""Shared paths for the keyroll test suite."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors" / "v1"
FERNET_SPEC = REPO.parent / "shared" / "vectors" / "external" / "fernet"

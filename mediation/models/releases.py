"""Statistics releases: immutable, checksummed, with the privacy budget spent."""

from __future__ import annotations

"""The admin's management of the mediator panel."""

from __future__ import annotations

from mediation.web.admin.routes import blueprint  # noqa: F401

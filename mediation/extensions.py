"""Flask extension objects, created here and bound to the app in create_app()."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session

from mediation.domain.client_addresses import throttle_address
from mediation.shared_store import client_digest

# Stable constraint names so that migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_address() -> str:
    """The client's address as seen by this app (a proxy must set it via ProxyFix), as
    throttling counts it: an IPv6 address by its /64 (domain/client_addresses.py)."""
    return throttle_address(request.remote_addr or "unknown")


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()


def limit_key(kind: str, value: str) -> str:
    """A rate-limit counter's key: a keyed hash under the period's random key (see
    shared_store), so the counters' store holds no client address and no typed email, and
    nothing it holds can be linked to an address once the period's key has expired."""
    return client_digest(f"rate-limit-{kind}", value)


def client_limit_key() -> str:
    """The limiter's key for this client: its address as throttling counts it."""
    return limit_key("client", client_address())


limiter = Limiter(key_func=client_limit_key, default_limits=[], headers_enabled=False)
talisman = Talisman()


def database() -> Session:
    """This request's (or command's) database session, typed for the service layer."""
    return db.session()

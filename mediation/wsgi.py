"""The WSGI entry point for production: `gunicorn mediation.wsgi:app`."""

from mediation import create_app

app = create_app()

"""Hostile clients against the production set-up (gunicorn behind nginx)."""

"""Crash safety: complaints filed through gunicorn while its workers are killed."""

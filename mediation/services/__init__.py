"""Use cases that touch the database; each takes the session and the acting user explicitly."""

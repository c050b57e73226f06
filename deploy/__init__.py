"""Deployment files: the reverse proxy's configuration and the code that renders and runs it."""

"""The auth area of the web interface."""

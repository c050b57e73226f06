"""The analyst area of the web interface."""

"""The public area of the web interface."""

"""The admin area of the web interface."""

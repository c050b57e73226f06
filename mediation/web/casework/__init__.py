"""The casework area of the web interface."""

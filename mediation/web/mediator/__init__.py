"""The mediator area of the web interface."""

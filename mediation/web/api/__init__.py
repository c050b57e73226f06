"""The JSON API for integration."""

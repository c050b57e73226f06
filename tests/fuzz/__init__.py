"""Fuzzing: schemathesis against the API's OpenAPI document, hypothesis over the forms."""

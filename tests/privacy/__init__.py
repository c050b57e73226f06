"""Tests that what is stored says no more than its content: lengths and sizes."""

"""Tests that what is stored, logged or answered says no more than its content (G11):
lengths and sizes, times, existence."""

"""Tests of metadata privacy (G11): times, existence."""

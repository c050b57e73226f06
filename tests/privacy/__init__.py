"""Tests that what is stored, logged, answered or published says no more than its content
(G5, G11): lengths and sizes, times, existence, addresses, documents, statistics."""

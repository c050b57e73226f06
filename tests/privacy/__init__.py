"""Tests that nothing readable or published links or singles out a complainant."""

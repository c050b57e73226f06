"""Identity access and key custody pages: requests, approvals, audited views, re-sealing."""

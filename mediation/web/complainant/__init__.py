"""The complainant's side: the complaint form, the receipt and the portal."""

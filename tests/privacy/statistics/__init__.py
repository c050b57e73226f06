"""Published statistics and their inputs: no correction, pair of releases or readable key
singles out or links a complainant organisation."""

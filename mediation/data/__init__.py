"""Reference data shipped with the package: the Compact taxonomy, bodies and a demo panel."""

"""pip-audit over the installed environment, saying plainly when no vulnerability service answers.

`make test` runs it. It fails on any known vulnerability in an installed (pinned) package.
Where neither PyPI's advisory data nor OSV can be reached (a registry mirror that serves
packages but not the JSON API, a closed network), pip-audit reports every package as
"not found" and would print "No known vulnerabilities found": that is not a clean bill of
health, so this prints that the audit was skipped instead, and does not fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

SERVICES = ("pypi", "osv")
TIMEOUT_SECONDS = 240
UNREACHABLE = "pip-audit: vulnerability service unreachable, skipped"


def audit(service: str) -> dict[str, object] | None:
    """pip-audit's JSON report from one service, or None when the service did not answer."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        try:
            result = subprocess.run(
                [
                    str(pip_audit),
                    "--local",
                    "--progress-spinner",
                    "off",
                    "--vulnerability-service",
                    service,
                    "--format",
                    "json",
                    "--output",
                    str(report),
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        if not report.exists():
            # pip-audit stops with an error (no report) when the service cannot be reached.
            if result.returncode != 0:
                return None
            raise RuntimeError(f"pip-audit wrote no report: {result.stderr.strip()}")
        data: dict[str, object] = json.loads(report.read_text())
        return data


def main() -> int:
    for service in SERVICES:
        data = audit(service)
        if data is None:
            continue
        dependencies = data.get("dependencies")
        assert isinstance(dependencies, list)
        audited = [d for d in dependencies if "skip_reason" not in d]
        if not audited:
            continue  # every package "not found": the service did not really answer
        vulnerable = [d for d in audited if d.get("vulns")]
        for dependency in vulnerable:
            for vuln in dependency["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
                print(
                    f"pip-audit: {dependency['name']} {dependency['version']}: "
                    f"{vuln['id']} (fixed in {fixed})"
                )
        skipped = len(dependencies) - len(audited)
        print(
            f"pip-audit ({service}): {len(audited)} packages audited, {skipped} not found, "
            f"{len(vulnerable)} with known vulnerabilities"
        )
        return 1 if vulnerable else 0
    print(UNREACHABLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

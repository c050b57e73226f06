"""axe-core for the accessibility checks: fetched from the npm registry into .cache/axe.

`python -m tests.browser.axe` fetches it (make test does this first); the browser fixtures
call ensure_axe() too, so a plain pytest run on a machine with npm works as well.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mediation import PROJECT_ROOT

AXE_VERSION = "4.14.1"
AXE_FOLDER = PROJECT_ROOT / ".cache" / "axe"
AXE_SCRIPT = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"


def installed_version() -> str | None:
    manifest = AXE_SCRIPT.with_name("package.json")
    if not manifest.exists():
        return None
    import json

    return str(json.loads(manifest.read_text())["version"])


def ensure_axe() -> Path:
    """The path of axe.min.js at the pinned version, installing it with npm when missing."""
    if AXE_SCRIPT.exists() and installed_version() == AXE_VERSION:
        return AXE_SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to fetch axe-core for the accessibility checks")
    AXE_FOLDER.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(AXE_FOLDER),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"axe-core@{AXE_VERSION}",
        ],
        check=True,
        timeout=300,
    )
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"npm did not install {AXE_SCRIPT}")
    return AXE_SCRIPT


if __name__ == "__main__":
    print(f"axe-core {AXE_VERSION}: {ensure_axe().relative_to(PROJECT_ROOT)}")

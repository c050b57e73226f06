"""Create instance/config.py with a random SECRET_KEY on first run."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

TEMPLATE = '''"""Local settings for this installation. Never commit this file."""

SECRET_KEY = "{secret}"
'''


def ensure_instance_config(instance_path: Path) -> bool:
    """Write config.py under instance_path unless it exists; return True when written."""
    instance_path.mkdir(parents=True, exist_ok=True)
    config = instance_path / "config.py"
    if config.exists():
        return False
    config.write_text(TEMPLATE.format(secret=secrets.token_urlsafe(48)), encoding="utf-8")
    config.chmod(0o600)
    return True


def main() -> int:
    instance = Path.cwd() / "instance"
    if ensure_instance_config(instance):
        sys.stdout.write("Created instance/config.py with a new SECRET_KEY.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

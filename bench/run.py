"""Run every benchmark in bench/ (files named bench_*.py), one after another.

Each prints lines `ratio <name> <value>` measured against a baseline taken in the same run,
plus `ms`, `queries`, `rss_mb` or `bytes` lines. Benchmarks are not part of `make test`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"# {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script), *sys.argv[1:]], check=False)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"# failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

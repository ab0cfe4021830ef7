"""Set up and run the project with nothing but Python 3.11+, on Windows as on Linux.

    python dev.py demo    set up .venv, then run the relay IP ranges runbook against the
                          simulated organization (plan, then apply) and print the record's path
    python dev.py test    set up .venv, then run the whole test suite (notebooks included)

Setting up means: create ``.venv`` beside this file if it is missing, and install the project
into it with its test dependencies. Both steps are skipped when already done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MARKER = VENV / ".installed"


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    name = "python.exe" if os.name == "nt" else "python"
    return VENV / scripts / name


def run(*args: str | os.PathLike[str]) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def setup() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = (ROOT / "pyproject.toml").stat().st_mtime_ns
    if not MARKER.exists() or MARKER.read_text().strip() != str(stamp):
        code = run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                   "-e", f"{ROOT}[test]")
        if code:
            sys.exit(code)
        MARKER.write_text(str(stamp))
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    python = setup()
    if argv[0] == "demo":
        return run(python, "-m", "connector_runbooks", "demo", *argv[1:])
    if argv[0] == "test":
        return run(python, "-m", "pytest", "--nbval-lax", *argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

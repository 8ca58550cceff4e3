"""Paths and helpers shared by the tests."""

import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
SMALL_BOOK = DATA / "books" / "small"
BIN = Path(sys.executable).parent



def run_smartx(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `smartx` executable in a subprocess."""
    return subprocess.run([str(BIN / "smartx"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=120)

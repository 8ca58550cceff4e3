"""The installed `smartx` executable and `python -m smartx_engine`, in subprocesses."""

import json
import subprocess
import sys

from .support import SMALL_BOOK, run_smartx


def test_installed_executable_runs_a_whole_session(tmp_path):
    db = str(tmp_path / "firm.db")
    assert run_smartx("--db", db, "init").returncode == 0
    imported = run_smartx("--db", db, "import", "book", str(SMALL_BOOK), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["lots"] == 9
    listed = run_smartx("accounts", "list", "--json", env={"SMARTX_DB": db})
    assert [a["account_id"] for a in json.loads(listed.stdout)] == ["FID-1", "SCH-1", "SCH-2"]


def test_a_user_error_exits_1_with_a_message_and_no_traceback(tmp_path):
    result = run_smartx("--db", str(tmp_path / "missing.db"), "accounts", "list")
    assert result.returncode == 1
    assert "Error: no database at" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_usage_error_exits_2():
    result = run_smartx("accounts", "list", "--no-such-option")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "smartx_engine", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("smartx, version")

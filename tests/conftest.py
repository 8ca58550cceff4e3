import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from smartx_engine.cli import cli
from smartx_engine.store import Store

from .support import SMALL_BOOK

# The suite draws the same examples on every run, so that CI passes or fails for the code, not the
# luck of the draw; set SMARTX_HYPOTHESIS_EXPLORE=1 to draw new ones (do it often while developing).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("SMARTX_HYPOTHESIS_EXPLORE") else "repeatable")


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A private copy of the small book, free to break."""
    return Path(shutil.copytree(SMALL_BOOK, tmp_path / "book"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "firm.db"
    Store.create(path).close()
    return path


@pytest.fixture
def smartx(db_path: Path):
    """Run a smartx command in-process against the test database; returns the click Result."""
    runner = CliRunner()

    def run(*args: str, expect: int = 0, env: dict | None = None):
        result = runner.invoke(cli, ["--db", str(db_path), *args], env=env, catch_exceptions=True)
        assert result.exit_code == expect, (result.output, result.exception)
        if expect == 1:
            assert "Traceback" not in result.output
        return result

    return run


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A rules directory: the firm's balanced policy, a small growth policy and a legacy hold."""
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(Path(__file__).parent.parent / "rules" / "balanced.policy", directory)
    (directory / "growth.policy").write_text(
        'policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n  drift band absolute 4%\n'
        '  target cash 2% min 1%\n  min trade 100 USD\n}\n')
    (directory / "legacy.policy").write_text(
        'policy "legacy" {\n  applies to sleeve.model == ""\n  rule "keep" when true then hold\n}\n')
    return directory


@pytest.fixture
def imported(smartx, db_path: Path):
    """The test database with the small book imported."""
    smartx("import", "book", str(SMALL_BOOK))
    return db_path

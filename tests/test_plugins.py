"""Plugin discovery through entry points, with real throw-away distributions installed by pip."""

import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smartx_engine import hookspecs

from .support import SMALL_BOOK, run_smartx

ACME = '''
import os
from pathlib import Path

import attrs
import click

from smartx_engine import DataError, hookimpl


@attrs.frozen
class AcmeImporter:
    name: str = "acme"
    description: str = "ACME portfolio-system export"

    def read(self, path):
        raise DataError(f"{path}/acme.xml:3:7: error: the acme importer reached its parser")


@hookimpl
def register_book_importers(register):
    register(AcmeImporter())


@hookimpl
def register_commands(cli):
    @cli.command()
    def hello():
        """Say hello from the acme plugin."""
        click.echo("hello from acme")


@hookimpl
def on_book_imported(summary):
    Path(os.environ["ACME_EVENTS"]).write_text(f"imported {summary.lots} lots")
'''

CLONE = '''
import attrs
from smartx_engine import hookimpl


@attrs.frozen
class CsvAgain:
    name: str = "csv"
    description: str = "a second csv importer"

    def read(self, path):
        raise AssertionError("never called")


@hookimpl
def register_book_importers(register):
    register(CsvAgain())
'''

BROKEN = "import smartx_engine.no_such_module\n"
TYPO = "from smartx_engine import hookimpl\n\n@hookimpl\ndef register_custodianz(register):\n    pass\n"


def install(tmp_path: Path, dist: str, module: str, source: str, entry_point: str | None = None) -> Path:
    """Write a plugin distribution with its own pyproject.toml and pip-install it into a fresh dir."""
    project = tmp_path / "src" / dist
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(textwrap.dedent(source))
    (project / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.3.0"
        dependencies = ["smartx-engine"]

        [project.entry-points.smartx]
        {entry_point or module} = "{module}"

        [tool.setuptools]
        packages = ["{module}"]
    '''))
    site = tmp_path / "site" / dist
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(project)], check=True, capture_output=True)
    return site


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugins")
    return {
        "acme": install(tmp, "smartx-acme", "smartx_acme", ACME, entry_point="acme"),
        "clone": install(tmp, "smartx-acme-clone", "acme_clone", CLONE),
        "same-name": install(tmp, "smartx-acme-fork", "acme_fork", CLONE, entry_point="acme"),
        "broken": install(tmp, "smartx-broken", "smartx_broken", BROKEN),
        "typo": install(tmp, "smartx-typo", "smartx_typo", TYPO),
    }


def with_sites(sites, *names, **env):
    return {"PYTHONPATH": ":".join(str(sites[n]) for n in names), **env}


def test_an_installed_plugin_is_discovered_and_its_hooks_called(sites, tmp_path):
    env = with_sites(sites, "acme", ACME_EVENTS=str(tmp_path / "events"))
    listed = run_smartx("plugins", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    acme = next(p for p in json.loads(listed.stdout) if p["name"] == "acme")
    assert acme == {"name": "acme", "version": "0.3.0", "distribution": "smartx-acme",
                    "hooks": ["on_book_imported", "register_book_importers", "register_commands"]}
    assert run_smartx("hello", env=env).stdout == "hello from acme\n"
    via_plugin = run_smartx("--db", str(tmp_path / "x.db"), "import", "book", str(SMALL_BOOK), "--format", "acme", env=env)
    assert via_plugin.returncode == 1 and "the acme importer reached its parser" in via_plugin.stderr
    db = str(tmp_path / "firm.db")
    run_smartx("--db", db, "init", env=env)
    assert run_smartx("--db", db, "import", "book", str(SMALL_BOOK), env=env).returncode == 0
    assert (tmp_path / "events").read_text() == "imported 9 lots"


def test_the_bundled_plugin_distributions_are_discovered():
    names = {p["name"]: p["distribution"] for p in json.loads(run_smartx("plugins", "list", "--json").stdout)}
    assert names["custodian_schwab"] == "smartx-custodian-schwab"
    assert names["custodian_fidelity"] == "smartx-custodian-fidelity"
    assert names["models_thirdparty"] == "smartx-models-thirdparty"


def test_two_plugins_registering_one_name_are_refused(sites, tmp_path):
    result = run_smartx("--db", str(tmp_path / "x.db"), "import", "book", str(SMALL_BOOK),
                        env=with_sites(sites, "clone"))
    assert result.returncode == 1
    assert ("the book importer 'csv' is registered twice: by 'smartx_engine.builtin.csv_book' and by 'acme_clone'"
            in result.stderr)


def test_two_distributions_with_one_plugin_name_are_refused(sites):
    result = run_smartx("plugins", "list", env=with_sites(sites, "acme", "same-name"))
    assert result.returncode == 1
    assert "two plugins are named 'acme'" in result.stderr and "uninstall one of them" in result.stderr


def test_smartx_load_plugins_restricts_what_loads(sites):
    env = with_sites(sites, "acme", "clone", SMARTX_LOAD_PLUGINS="smartx-acme")
    names = {p["name"] for p in json.loads(run_smartx("plugins", "list", "--json", env=env).stdout)}
    assert "acme" in names and "acme_clone" not in names and "custodian_schwab" not in names
    assert "smartx_engine.builtin.csv_book" in names  # built-ins always load
    none = {p["name"] for p in json.loads(run_smartx("plugins", "list", "--json",
                                                     env=with_sites(sites, "acme", SMARTX_LOAD_PLUGINS="")).stdout)}
    assert none == {"smartx_engine.builtin.csv_book", "smartx_engine.builtin.client_report",
                    "smartx_engine.builtin.executors"}


def test_smartx_load_plugins_naming_a_missing_plugin_is_an_error():
    result = run_smartx("plugins", "list", env={"SMARTX_LOAD_PLUGINS": "smartx-nope"})
    assert result.returncode == 1 and "names smartx-nope, which no installed plugin provides" in result.stderr


def test_a_plugin_that_fails_to_import_is_named(sites):
    result = run_smartx("plugins", "list", env=with_sites(sites, "broken"))
    assert result.returncode == 1
    assert "plugin 'smartx_broken' (smartx-broken) failed to load: No module named" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_plugin_implementing_an_unknown_hook_is_refused(sites):
    result = run_smartx("plugins", "list", env=with_sites(sites, "typo"))
    assert result.returncode == 1
    assert "register_custodianz" in result.stderr and "unknown hook" in result.stderr


def test_every_hookspec_is_documented_and_typed():
    specs = [fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if getattr(fn, "smartx_spec", None) is not None]
    assert {fn.__name__ for fn in specs} >= {
        "register_custodians", "register_model_feeds", "register_reporters", "register_policy_functions",
        "register_executors", "register_commands", "register_book_importers",
        "on_run_completed", "on_orders_submitted", "on_fills", "on_book_imported"}
    for fn in specs:
        assert fn.__doc__ and fn.__doc__.strip(), fn.__name__
        assert all(p.annotation is not inspect.Parameter.empty for p in inspect.signature(fn).parameters.values())

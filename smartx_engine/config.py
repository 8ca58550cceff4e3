"""Plugin configuration: a TOML file outside the repository, overridden by environment variables.

The file is ``SMARTX_CONFIG`` (default ``~/.config/smartx/config.toml``); each plugin reads its own
table (``[schwab]``, ``[fidelity]``). An environment variable ``SMARTX_<TABLE>_<KEY>`` (upper
case) overrides the file's ``key``. Credentials belong here or in the environment, never in the
database or the logs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from .errors import DataError, Diagnostic


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("SMARTX_CONFIG") or Path.home() / ".config" / "smartx" / "config.toml")


def plugin_settings(table: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of ``table``: the config file's ``[table]``, then ``SMARTX_<TABLE>_*`` over it.

    Values are strings. A config file that is not valid TOML, or whose table is not a table of
    plain values, is a :class:`DataError` naming the file and line.
    """
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    settings: dict[str, str] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"{path}: not valid TOML",
                            [Diagnostic(str(path), getattr(exc, "lineno", 1) or 1, getattr(exc, "colno", None),
                                        str(exc).split(" (at line")[0])]) from None
        section = data.get(table, {})
        if not isinstance(section, dict) or any(isinstance(v, (dict, list)) for v in section.values()):
            raise DataError(f"{path}: [{table}] must be a table of plain values (strings, numbers, booleans)")
        settings = {key.lower(): str(value) for key, value in section.items()}
    prefix = f"SMARTX_{table.upper()}_"
    settings.update({key[len(prefix):].lower(): value for key, value in environ.items() if key.startswith(prefix)})
    return settings

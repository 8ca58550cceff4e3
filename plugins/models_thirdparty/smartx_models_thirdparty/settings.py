"""The plugin's settings: the ``[models]`` table of the smartx config file, then ``SMARTX_MODELS_*``.

Each feed reads them on first use (registering a feed reads nothing); a keyword given to a
feed's constructor wins over them. A feed missing a setting it needs is not configured: using
it raises a :class:`smartx_engine.DataError` naming the setting, the table and the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from smartx_engine import DataError, plugin_settings

TABLE = "models"
HELP = {
    "directory": "the directory that managers' model files are dropped into",
    "url": "the manager API's base URL, e.g. https://models.acme.example/api/v1",
    "token": "the bearer token of the manager API",
}


class Settings:
    """The settings of one feed: ``given`` keywords first, then the config file and environment."""

    def __init__(self, feed: str, given: Mapping[str, object | None], environ: Mapping[str, str] | None):
        self.feed = feed
        self._given = {key: str(value) for key, value in given.items() if value is not None}
        self._environ = environ
        self._read: dict[str, str] | None = None

    def get(self, key: str) -> str | None:
        if key in self._given:
            return self._given[key]
        if self._read is None:
            self._read = plugin_settings(TABLE, self._environ)
        return self._read.get(key) or None

    def required(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise DataError(
                f"the model feed {self.feed!r} is not configured: its setting {key} ({HELP[key]}) is not set; set "
                f"{key} in the [{TABLE}] table of the smartx config file (SMARTX_CONFIG, default "
                f"~/.config/smartx/config.toml) or the environment variable SMARTX_{TABLE.upper()}_{key.upper()}")
        return value

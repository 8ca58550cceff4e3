"""Third-party model feeds: manager model files and HTTP change notices, with a loopback sandbox manager.

An installable smartx plugin distribution, discovered through the `smartx` entry-point group.
It uses only smartx_engine's public API, exactly as a third party's plugin would.

Modules (imported on demand, so that loading the plugin stays cheap):

* :mod:`.filefeed`: ``ModelFileFeed`` (feed ``files``), canonical CSV files dropped in a directory;
* :mod:`.httpfeed`: ``ModelHttpFeed`` (feed ``manager-api``), a manager's API of JSON change notices;
* :mod:`.csvformat`, :mod:`.notices`: the two formats, read strictly and written;
* :mod:`.client`: the HTTP client (TLS, bearer token, retries); :mod:`.settings`: the ``[models]`` table;
* :mod:`.sandbox`: ``ManagerSandbox``, a loopback manager API with a seed, revisions and faults;
* :mod:`.commands`: ``smartx models-sandbox``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartx_engine import hookimpl


@hookimpl
def register_model_feeds(register: Callable[[Any], None]) -> None:
    """Register the file and HTTP feeds; each reads its settings only when first used."""
    from .filefeed import ModelFileFeed
    from .httpfeed import ModelHttpFeed

    register(ModelFileFeed())
    register(ModelHttpFeed())


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``smartx models-sandbox``; its module is imported only when used."""
    from .commands import models_sandbox

    cli.add_command(models_sandbox)

"""The model feeds that plugins register (``register_model_feeds``)."""

from __future__ import annotations

from ..errors import PluginError
from ..modelfeeds import ModelFeed
from ..plugins import chosen, registered


def model_feeds(name: str | None = None) -> dict[str, ModelFeed]:
    """The registered feeds by name; with ``name``, only that one (NotFoundError when none has it)."""
    feeds = registered("register_model_feeds", "model feed")
    for feed_name, feed in feeds.items():
        if not isinstance(feed, ModelFeed):
            raise PluginError(f"the model feed {feed_name!r} has no deliveries() method (see smartx_engine.ModelFeed)")
    return chosen(feeds, name, "model feed", "model-feed")

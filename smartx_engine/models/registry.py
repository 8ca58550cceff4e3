"""The model feeds that plugins register (``register_model_feeds``)."""

from __future__ import annotations

from ..errors import NotFoundError, PluginError, did_you_mean
from ..modelfeeds import ModelFeed
from ..plugins import registered


def model_feeds(name: str | None = None) -> dict[str, ModelFeed]:
    """The registered feeds by name; with ``name``, only that one (NotFoundError when none has it)."""
    feeds = registered("register_model_feeds", "model feed")
    for feed_name, feed in feeds.items():
        if not isinstance(feed, ModelFeed):
            raise PluginError(f"the model feed {feed_name!r} has no deliveries() method (see smartx_engine.ModelFeed)")
    if name is None:
        return dict(sorted(feeds.items()))
    if name not in feeds:
        hint = did_you_mean(name, feeds)
        known = ", ".join(sorted(feeds)) or "none; install a model-feed plugin (see `smartx plugins list`)"
        raise NotFoundError(f"no model feed named {name!r}" + (f"; {hint}" if hint else "")
                            + f" (registered: {known})")
    return {name: feeds[name]}

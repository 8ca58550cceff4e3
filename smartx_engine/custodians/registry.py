"""The custodian adapters that plugins register (``register_custodians``)."""

from __future__ import annotations

from ..custody import Custodian
from ..errors import NotFoundError, did_you_mean
from ..plugins import registered


def custodians(name: str | None = None) -> dict[str, Custodian]:
    """The registered adapters by name; with ``name``, only that one (NotFoundError when none has it)."""
    adapters = registered("register_custodians", "custodian")
    if name is None:
        return dict(sorted(adapters.items()))
    if name not in adapters:
        hint = did_you_mean(name, adapters)
        known = ", ".join(sorted(adapters)) or "none; install a custodian plugin (see `smartx plugins list`)"
        raise NotFoundError(f"no custodian adapter named {name!r}" + (f"; {hint}" if hint else "")
                            + f" (registered: {known})")
    return {name: adapters[name]}

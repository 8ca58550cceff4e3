"""Functions that policies may call, built in or registered by plugins (``register_policy_functions``)."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from ..errors import PluginError
from ..plugins import registered
from .schema import Type


@attrs.frozen
class PolicyFunction:
    """A typed, vectorised function: it takes whole numpy columns and returns one.

    ``params`` are the argument types (numbers carry a unit), ``returns`` the result type. The
    validator checks every call against them; the compiler calls ``implementation`` once per
    evaluation with one array per argument, all of the same length.
    """

    name: str
    params: tuple[Type, ...]
    returns: Type
    implementation: Callable[..., np.ndarray]
    doc: str = ""


def policy_functions() -> dict[str, PolicyFunction]:
    """Every function registered by a plugin, by name."""
    functions = registered("register_policy_functions", "policy function")
    for name, function in functions.items():
        if not isinstance(function, PolicyFunction):
            raise PluginError(f"policy function {name!r} must be a smartx_engine.PolicyFunction")
    return functions

"""Plugins extend the policy language with typed, vectorised functions."""

import datetime as dt
import types

import numpy as np
import pytest

from smartx_engine import hookimpl
from smartx_engine.book import Book
from smartx_engine.dsl.functions import PolicyFunction, policy_functions
from smartx_engine.dsl.policyset import check_sources, load
from smartx_engine.dsl.schema import USD
from smartx_engine.errors import PluginError
from smartx_engine.plugins import get_plugin_manager

LOT_SIZE = PolicyFunction(
    name="round_lots", params=(USD,), returns=USD, doc="the value rounded down to $10,000 lots",
    implementation=lambda value: np.floor(value / 10_000) * 10_000,
)


@pytest.fixture
def plugin():
    """A plugin registering `round_lots`, registered for the test only."""
    module = types.ModuleType("rounding_plugin")
    module.register_policy_functions = hookimpl(lambda register: register(LOT_SIZE))
    manager = get_plugin_manager()
    manager.register(module, name="rounding_plugin")
    yield module
    manager.unregister(module, name="rounding_plugin")


def book() -> Book:
    return Book.assemble(
        as_of=dt.date(2026, 11, 20), securities=[("VTI", "us_equity", 100.0)],
        accounts=[("A", "taxable", "schwab", "H", 0.3, 0.15)],
        sleeves=[("S1", "A", None, "lots", 1000.0), ("S2", "A", None, "lots", 1000.0)],
        models={}, positions=[("S1", "VTI", 250.0, 20000.0), ("S2", "VTI", 50.0, 5000.0)], lots=[],
    )


def test_a_plugin_function_is_typed_and_vectorised(plugin, tmp_path):
    path = tmp_path / "lots.policy"
    path.write_text('policy "lots" {\n  rule "big" when round_lots(sleeve.invested) >= 20000 USD then flag "big"\n}\n')
    policies = load([path])
    evaluation = policies.evaluate(book())
    result = evaluation.evaluations["lots"]
    # S1 invests 250 x 100 = 25,000 -> 20,000: flagged; S2 invests 5,000 -> 0: not flagged
    assert [result.flags(i) for i in range(2)] == [["big"], []]


def test_calls_are_checked_against_the_declared_types(plugin):
    _, checked = check_sources([("f.policy", 'policy "f" {\n  trigger when round_lots(sleeve.cash_weight) > 1 USD\n}\n')])
    assert [d.message for d in checked.errors] == ["round_lots(...) takes an amount in USD here, not a percentage"]
    _, checked = check_sources([("f.policy", 'policy "f" {\n  trigger when round_lots(1 USD, 2 USD) > 1 USD\n}\n')])
    assert [d.message for d in checked.errors] == ["round_lots(...) takes 1 argument(s), not 2"]


def test_unknown_functions_list_the_registered_ones(plugin):
    _, checked = check_sources([("f.policy", 'policy "f" {\n  trigger when round_lot(sleeve.cash) > 1 USD\n}\n')])
    assert checked.errors[0].hint == "did you mean `round_lots`?"


def test_a_registered_function_must_be_a_policy_function():
    module = types.ModuleType("broken_functions")
    module.register_policy_functions = hookimpl(lambda register: register(types.SimpleNamespace(name="oops")))
    manager = get_plugin_manager()
    manager.register(module, name="broken_functions")
    try:
        with pytest.raises(PluginError, match="must be a smartx_engine.PolicyFunction"):
            policy_functions()
    finally:
        manager.unregister(module, name="broken_functions")


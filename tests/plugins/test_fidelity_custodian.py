"""The Fidelity custodian adapter: the custodian contract, then what is Fidelity's own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from smartx_engine.testing import ContractWorld, CustodianContract
from smartx_custodian_fidelity.custodian import FidelityCustodian
from smartx_custodian_fidelity.world import FidelityWorld

TRADE_DATE = dt.date(2026, 1, 9)  # a Friday: settles Monday


class TestFidelityCustodian(CustodianContract):
    @pytest.fixture
    def make_custodian(self, tmp_path, request):
        def make(seed):
            world = FidelityWorld(tmp_path / "fidelity", seed)
            request.addfinalizer(world.stop)
            return ContractWorld(world.custodian(), settle=lambda: world.execute(TRADE_DATE))
        return make

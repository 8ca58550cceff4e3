"""Contract test kits for plugin authors, shipped as a pytest plugin (entry point ``pytest11``).

A custodian plugin's tests subclass :class:`CustodianContract` and provide one fixture,
``make_custodian``, that builds the adapter against a fresh sandbox::

    from smartx_engine.testing import CustodianContract

    class TestAcmeCustodian(CustodianContract):
        @pytest.fixture
        def make_custodian(self, tmp_path):
            def make(seed):            # seed: see CustodianContract
                sandbox = AcmeSandbox(seed)
                return ContractWorld(AcmeCustodian(sandbox.url), settle=sandbox.execute)
            return make

:class:`FakeCustodian` is an in-memory custodian for unit tests that need one (it passes the
contract itself: ``tests/test_testing_kit.py``).
"""

from .custodian import ContractWorld, CustodianContract, contract_seed
from .fake import FakeCustodian

__all__ = ["ContractWorld", "CustodianContract", "FakeCustodian", "contract_seed"]

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
"""

from .custodian import ContractWorld, CustodianContract, contract_seed

__all__ = ["ContractWorld", "CustodianContract", "contract_seed"]

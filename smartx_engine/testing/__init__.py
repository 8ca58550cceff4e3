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

A model-feed plugin's tests subclass :class:`ModelFeedContract` and provide ``make_feed``: a
callable taking a fresh directory and giving a :class:`FeedWorld` (the feed, and ``publish``
making it offer a version)::

    class TestAcmeFeed(ModelFeedContract):
        @pytest.fixture
        def make_feed(self):
            return lambda directory: FeedWorld(AcmeFeed(directory), publish=partial(write_file, directory))

:class:`FakeCustodian` and :class:`FakeModelFeed` are in-memory doubles for unit tests that need
one (each passes its contract: ``tests/test_testing_kit.py``, ``tests/models/test_contract.py``).
"""

from .custodian import ContractWorld, CustodianContract, contract_seed
from .fake import FakeCustodian
from .fakefeed import FakeModelFeed
from .modelfeed import FeedWorld, ModelFeedContract, canonical, contract_versions

__all__ = ["ContractWorld", "CustodianContract", "FakeCustodian", "FakeModelFeed", "FeedWorld", "ModelFeedContract",
           "canonical", "contract_seed", "contract_versions"]

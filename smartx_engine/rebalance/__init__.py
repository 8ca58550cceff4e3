"""The rebalancer: from a policy's decisions to proposed trades (see docs/rebalancing.md)."""

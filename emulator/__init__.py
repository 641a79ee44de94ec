"""Embedded local AWS: moto on loopback plus a Cost Explorer emulator answering from a cost dataset.

- ``emulator.dataset``: the cost records, accounts and demo clients (deterministic generator).
- ``emulator.cost_explorer``: ``GetCostAndUsage`` / ``GetDimensionValues`` over a ``CostDataset``.
- ``emulator.server``: ``EmbeddedAWS``, one loopback endpoint for every service (moto + Cost Explorer).
"""

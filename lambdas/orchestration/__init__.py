"""Orchestration: the steps of one run wired together (run.py), the dispatcher's job
(dispatch.py) and the reading of a client's cost data (cost_reader.py). It calls logic/ (pure)
and reaches AWS only through the adapters of dal/, typed here by the Protocols of ports.py."""

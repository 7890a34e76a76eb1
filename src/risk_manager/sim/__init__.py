"""A local ProjectX Gateway simulator: REST API, control API, exchange (hubs in ``hubs``).

Imports only :mod:`risk_manager.domain`; never the engine, runtime or config.
"""

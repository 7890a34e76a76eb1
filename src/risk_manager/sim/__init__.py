"""A local ProjectX Gateway simulator: REST API, control API, exchange (hubs in ``hubs``).

Imports only :mod:`risk_manager.domain`, :mod:`risk_manager.types` and the SignalR framing
:mod:`risk_manager.signalr` (shared with the client); never the engine, runtime, config or
the client.
"""

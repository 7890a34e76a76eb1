"""Terminal dashboard: a client of the local API over HTTP/WebSocket, never of the runtime."""

"""Local read-only HTTP + WebSocket API and the web dashboard it serves."""

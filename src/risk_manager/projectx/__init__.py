"""ProjectX Gateway adapter: REST client, hub connections, wire ↔ domain mapping."""

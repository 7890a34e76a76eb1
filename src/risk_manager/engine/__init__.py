"""The rule engine: pure and synchronous (DESIGN.md). Events in, actions out; no I/O, no clock."""

"""The ``risk-manager`` command: the one place that wires the layers together."""

"""Alerts (docs/ALERTS.md): the channels (:class:`AlertChannels`, one module per channel) and
the daemon's own alert rules (``watch``)."""

from risk_manager.runtime.alerts.channels import AlertChannels

__all__ = ["AlertChannels"]

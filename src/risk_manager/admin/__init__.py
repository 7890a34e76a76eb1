"""The admin's tools (docs/ADMIN.md): the password, config edits, the audit trail.

Used by the admin API (``api/admin.py``) and the ``risk-manager admin`` command; the daemon's
side of an admin act is behind ``runtime/control_port.py``.
"""

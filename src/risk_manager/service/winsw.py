"""The WinSW service wrapper's XML (WinSW 2.x ``<service>`` schema) and the ``icacls`` lines
that protect the service's folders on Windows.

WinSW runs the console daemon as a Windows service: restarted on every failure, its output
rolled by size, under the built-in LocalService account. The ACLs give Administrators and
SYSTEM full control, the service account read on the config and modify on data and logs, and
nobody else anything: a trader who is not an administrator can neither stop the service nor
edit its files. Accounts are named by their well-known SIDs so the lines work on every
language of Windows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from risk_manager.service.spec import (
    DESCRIPTION,
    RESTART_DELAY_S,
    STOP_TIMEOUT_S,
    ServiceSpec,
)

#: Well-known SIDs (Microsoft "Well-known SIDs"): Administrators, SYSTEM, LocalService.
ADMINISTRATORS = "*S-1-5-32-544"
SYSTEM = "*S-1-5-18"
LOCAL_SERVICE = "*S-1-5-19"
LOG_ROLL_KB = 10 * 1024  # roll the wrapper's log at 10 MiB
LOG_KEEP = 8


def _account(user: str) -> tuple[str, str]:
    domain, _, name = user.rpartition("\\")
    return domain or ".", name


def winsw_xml(spec: ServiceSpec) -> str:
    """The ``<name>.xml`` WinSW reads beside its renamed ``<name>.exe``."""
    root = ET.Element("service")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = text
        return element

    add(root, "id", spec.name)
    add(root, "name", spec.name)
    add(root, "description", DESCRIPTION)
    add(root, "executable", str(spec.executable))
    args = spec.run_args()[1:]
    add(root, "arguments", " ".join(f'"{a}"' if " " in a else a for a in args))
    add(root, "workingdirectory", str(spec.data_dir))
    add(root, "startmode", "Automatic")
    # Restart after every failure, the last entry repeating: a guard never stays down.
    for _ in range(3):
        add(root, "onfailure", action="restart", delay=f"{RESTART_DELAY_S} sec")
    add(root, "resetfailure", "1 hour")
    add(root, "stoptimeout", f"{STOP_TIMEOUT_S} sec")
    add(root, "logpath", str(spec.log_dir))
    log = add(root, "log", mode="roll-by-size")
    add(log, "sizeThreshold", str(LOG_ROLL_KB))
    add(log, "keepFiles", str(LOG_KEEP))
    domain, user = _account(spec.user)
    account = add(root, "serviceaccount")
    add(account, "domain", domain)
    add(account, "user", user)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", xml_declaration=False) + "\n"


def icacls_lines(spec: ServiceSpec) -> list[str]:
    """The commands (an elevated ``cmd.exe``) that leave the service's folders writable by
    Administrators and SYSTEM, readable by the service account, its data and logs writable by
    it, and closed to everyone else (inheritance from ``C:\\ProgramData`` removed)."""
    full = f"{ADMINISTRATORS}:(OI)(CI)F {SYSTEM}:(OI)(CI)F"
    root = spec.config_dir.parent
    return [
        f'icacls "{root}" /inheritance:r /grant:r {full} {LOCAL_SERVICE}:(OI)(CI)RX',
        f'icacls "{spec.config_dir}" /inheritance:r /grant:r {full} {LOCAL_SERVICE}:(OI)(CI)R',
        f'icacls "{spec.data_dir}" /inheritance:r /grant:r {full} {LOCAL_SERVICE}:(OI)(CI)M',
        f'icacls "{spec.log_dir}" /inheritance:r /grant:r {full} {LOCAL_SERVICE}:(OI)(CI)M',
    ]

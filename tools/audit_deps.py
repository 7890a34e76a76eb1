"""`make audit`: pip-audit over the installed dependencies, skipped (with the reason printed)
when the vulnerability service cannot answer; a known vulnerability fails the build.

pip-audit asks PyPI's JSON API for each installed package's advisories. Where that API is not
reachable, or answers no package (a mirror without per-version records: every package comes
back "not found"), nothing was audited, and saying "no known vulnerabilities" would be a lie:
the run says so and exits 0, since the build must not fail for want of a network.
The project itself (installed editable, not on PyPI) is not audited.

Exit status: 0 audited clean or skipped; 1 a vulnerability found (each printed with its id and
the versions that fix it); 2 pip-audit missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT = 300  # seconds for the whole audit; pip-audit's own socket timeout is 15 s


def _pip_audit() -> str | None:
    """pip-audit beside this interpreter (the venv's), or on PATH."""
    local = Path(sys.executable).with_name("pip-audit")
    return str(local) if local.exists() else shutil.which("pip-audit")


def _skip(reason: str) -> int:
    print(f"pip-audit: SKIPPED, nothing audited: {reason}")
    return 0


def report(result: dict[str, Any]) -> int:
    """The exit status for pip-audit's JSON ``result`` (``{"dependencies": [...]}``), printed."""
    deps: list[dict[str, Any]] = result.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    if not audited:
        sample = deps[0]["skip_reason"] if deps else "no dependency listed"
        return _skip(f"the service answered none of {len(deps)} packages (e.g. {sample})")
    found = [(d, v) for d in audited for v in d.get("vulns", [])]
    for dep, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
        print(f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    skipped = len(deps) - len(audited)
    print(
        f"pip-audit: {len(audited)} packages audited, {len(found)} known vulnerabilities"
        + (f"; {skipped} not found on the service" if skipped else "")
    )
    return 1 if found else 0


def main() -> int:
    """Run pip-audit and judge its answer (see the module's docstring)."""
    exe = _pip_audit()
    if exe is None:
        print("pip-audit: not installed (it is a dev dependency: make .venv)")
        return 2
    command = [exe, "--skip-editable", "--format", "json", "--progress-spinner", "off"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return _skip(f"no answer within {TIMEOUT} s")
    try:
        result = json.loads(done.stdout)
    except ValueError:
        lines = done.stderr.strip().splitlines()
        return _skip(f"the service could not be reached ({lines[-1] if lines else 'no output'})")
    return report(result)


if __name__ == "__main__":
    sys.exit(main())

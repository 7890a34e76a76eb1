"""`make security`'s pip-audit gate (tools/audit_deps.py): a known vulnerability fails the
build; a service that audited nothing is a skip said out loud, never a pass."""

from __future__ import annotations

import pytest

from audit_deps import report


def test_a_known_vulnerability_fails_and_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    result = {
        "dependencies": [
            {"name": "aiohttp", "version": "3.8.0", "vulns": [
                {"id": "GHSA-xxxx", "fix_versions": ["3.9.2"]}
            ]},
            {"name": "pyyaml", "version": "6.0.2", "vulns": []},
            {"name": "private", "skip_reason": "Dependency not found on PyPI"},
        ]
    }  # fmt: skip
    assert report(result) == 1
    out = capsys.readouterr().out
    assert "aiohttp 3.8.0: GHSA-xxxx (fixed in 3.9.2)" in out
    assert "2 packages audited, 1 known vulnerabilities; 1 not found" in out


def test_clean_audit_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert report({"dependencies": [{"name": "pyyaml", "version": "6.0.2", "vulns": []}]}) == 0
    assert "1 packages audited, 0 known vulnerabilities" in capsys.readouterr().out


def test_nothing_audited_is_a_skip_with_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    result = {"dependencies": [{"name": "aiohttp", "skip_reason": "Dependency not found on PyPI"}]}
    assert report(result) == 0
    out = capsys.readouterr().out
    assert out.startswith("pip-audit: SKIPPED, nothing audited")
    assert "not found on PyPI" in out

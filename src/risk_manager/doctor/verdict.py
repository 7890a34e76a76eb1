"""One line of ``doctor``'s report, and the report's exit code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]
_RANK: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    """``check``: what was looked at (``login``, ``clock``, ...); ``detail``: what was found;
    ``fix``: what to do, given whenever the status is not ok."""

    check: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        """``ok    login       works; the token expires ...`` then ``→ fix`` when not ok."""
        text = f"{self.status:<5} {self.check:<15} {self.detail}"
        return text + (f"\n      → {self.fix}" if self.fix else "")

    def as_json(self) -> dict[str, str | None]:
        """The verdict as a JSON object (``check``, ``status``, ``detail``, ``fix``)."""
        return asdict(self)


def worst(verdicts: list[Verdict]) -> Status:
    """The worst status among ``verdicts`` (ok when empty)."""
    return max((v.status for v in verdicts), key=_RANK.__getitem__, default="ok")


def exit_code(verdicts: list[Verdict]) -> int:
    """0 when every check is ok, 1 when the worst is a warning, 2 when one fails."""
    return _RANK[worst(verdicts)]

"""The documents link only to files inside the repository, and every such file exists.

The product carries its own rule book (docs/RULES.md); nothing in README.md or docs/*.md may
point outside the repository (e.g. ``../shared/RULES.md``) or at a file that is not there.
Web addresses (``https://…``) are references, not files, and are left alone.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
WEB_SCHEMES = {"http", "https", "mailto"}


def link_targets(markdown: str) -> list[str]:
    """Every link and image target in a markdown text (inline, reference-style and autolinks;
    code spans and code blocks are not links)."""
    targets: list[str] = []
    for block in MarkdownIt("commonmark").parse(markdown):
        for token in block.children or []:
            if token.type == "link_open":
                targets.append(str(token.attrGet("href") or ""))
            elif token.type == "image":
                targets.append(str(token.attrGet("src") or ""))
    return targets


def bad_links(document: Path, root: Path) -> list[str]:
    """The links of ``document`` that leave ``root`` or name a file that does not exist, each
    with the reason."""
    problems: list[str] = []
    for target in link_targets(document.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme in WEB_SCHEMES:
            continue
        if parts.scheme or parts.netloc:
            problems.append(f"{target}: not a web address and not a file in the repository")
            continue
        path = unquote(parts.path)
        if not path:
            continue  # "#section": an anchor in the same document
        if path.startswith("/"):
            problems.append(f"{target}: absolute path; link relative to the document instead")
            continue
        resolved = (document.parent / path).resolve()
        if not resolved.is_relative_to(root):
            problems.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file in the repository")
    return problems


def test_the_documents_are_found() -> None:
    names = {d.relative_to(REPO).as_posix() for d in DOCUMENTS}
    assert {"README.md", "docs/RULES.md", "docs/ENGINE.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(REPO).as_posix())
def test_links_stay_inside_the_repository_and_exist(document: Path) -> None:
    assert bad_links(document, REPO) == []


def test_the_checker_flags_links_that_leave_or_miss(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "ENGINE.md").write_text("# Engine\n", encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "RULES.md").write_text("# outside\n", encoding="utf-8")
    document = root / "docs" / "INDEX.md"
    document.write_text(
        "\n".join(
            [
                "[fine](ENGINE.md#public-api) [web](https://example.com/x) [anchor](#top)",
                "[outside](../../shared/RULES.md) [missing](RULES.md) ![img](/etc/passwd)",
                "[ref][r] `[code](../../shared/RULES.md)`",
                "",
                "    [indented code](../../shared/RULES.md)",
                "",
                "[r]: ../../shared/RULES.md",
            ]
        ),
        encoding="utf-8",
    )

    assert bad_links(document, root) == [
        "../../shared/RULES.md: points outside the repository",
        "RULES.md: no such file in the repository",
        "/etc/passwd: absolute path; link relative to the document instead",
        "../../shared/RULES.md: points outside the repository",
    ]

"""The docs name the code where it is: every repository path in README.md, docs/, benchmarks/
and deploy/ Markdown exists, and every dotted ``aios_assets.…`` / ``resources.…`` /
``sensors.…`` name imports (module, then attributes). A module moved without its docs fails
here."""

from __future__ import annotations

import importlib
import re

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "benchmarks").glob("*.md")), *sorted((ROOT / "deploy").glob("*.md"))]
PATH_RE = re.compile(
    r"(?<![\w/.-])((?:aios_assets|resources|sensors|dbt_project|tests|benchmarks|deploy)"
    r"/[\w/.*-]*[\w*/])")
NAME_RE = re.compile(r"(?<![\w/.-])((?:aios_assets|resources|sensors)\.[\w.]*\w)")
# Folders that runs create (benchmark logs); the docs may name them before they exist.
CREATED_AT_RUN_TIME = {"benchmarks/results/logs/"}


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_path_the_docs_name_exists() -> None:
    missing = []
    for doc in DOCS:
        for m in PATH_RE.finditer(doc.read_text()):
            path = m.group(1)
            if path in CREATED_AT_RUN_TIME:
                continue
            found = list(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()
            if not found:
                missing.append(f"{doc.relative_to(ROOT)}: {path}")
    assert not missing, "\n".join(missing)


def test_every_module_name_the_docs_give_imports() -> None:
    broken = [f"{doc.relative_to(ROOT)}: {m.group(1)}" for doc in DOCS
              for m in NAME_RE.finditer(doc.read_text()) if not _resolves(m.group(1))]
    assert not broken, "\n".join(broken)


LINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def test_every_relative_link_stays_inside_the_repository_and_resolves() -> None:
    """A clone has no ../shared: the design lives in docs/design.md."""
    broken = []
    for doc in DOCS:
        for m in LINK_RE.finditer(doc.read_text()):
            target = m.group(1)
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (doc.parent / target).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken, "\n".join(broken)

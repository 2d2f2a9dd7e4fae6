"""The import layout: tests and benchmarks share ``aios_assets.testing`` and never import each
other (a test may run a benchmark as a subprocess); the product imports neither them nor the
test kit. The same rules are import-linter contracts in pyproject.toml (``lint-imports``)."""

from __future__ import annotations

import grimp
import pytest

from tests.conftest import ROOT

PRODUCT = ("aios_assets", "resources", "sensors")
KIT = "aios_assets.testing"


@pytest.fixture(scope="module")
def graph(monkeypatch_module: pytest.MonkeyPatch) -> grimp.ImportGraph:
    monkeypatch_module.syspath_prepend(str(ROOT))
    return grimp.build_graph(*PRODUCT, "tests", "benchmarks", cache_dir=None)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _direct(graph: grimp.ImportGraph, importers: set[str], imported: str) -> list[str]:
    """The direct imports of ``imported`` (or a module under it) by any of ``importers``."""
    return sorted(f"{m} -> {x}" for m in importers
                  for x in graph.find_modules_directly_imported_by(m)
                  if x == imported or x.startswith(imported + "."))


def test_the_graph_sees_every_side(graph: grimp.ImportGraph) -> None:
    # an empty graph would make every check below pass
    assert "tests.test_layout" in graph.modules
    assert "benchmarks.er_bench" in graph.modules
    assert f"{KIT}.openai_server" in graph.modules


@pytest.mark.parametrize(("importer", "imported"),
                         [("tests", "benchmarks"), ("benchmarks", "tests")])
def test_tests_and_benchmarks_do_not_import_each_other(graph: grimp.ImportGraph, importer: str,
                                                       imported: str) -> None:
    modules = graph.find_descendants(importer) | {importer}
    assert _direct(graph, modules, imported) == []
    assert not graph.chain_exists(importer=importer, imported=imported, as_packages=True)


def test_the_product_imports_no_test_code(graph: grimp.ImportGraph) -> None:
    product = {m for p in PRODUCT for m in graph.find_descendants(p) | {p}
               if m != KIT and not m.startswith(KIT + ".")}
    for forbidden in (KIT, "tests", "benchmarks"):
        assert _direct(graph, product, forbidden) == []


def test_the_kit_imports_neither_tests_nor_benchmarks(graph: grimp.ImportGraph) -> None:
    kit = graph.find_descendants(KIT) | {KIT}
    assert _direct(graph, kit, "tests") == [] and _direct(graph, kit, "benchmarks") == []

"""Imports in ``paperlib/`` run one way: no module imports (at top level or inside a function)
a module that imports it back, directly or through others; and the subpackages form layers, each
importing only from the layers below it (lazy imports included):

    cli  ->  evaluation | photo | teaching  ->  profiles  ->  synth  ->  method  ->  infra  ->  models  ->  checks
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "paperlib"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the paperlib modules it imports anywhere in its body (lazy imports included)."""
    modules = {_module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - node.level + 1]
                    stem = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
            for t in targets:
                while t and t not in modules:  # `import paperlib.models.x.y` -> the deepest module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_paperlib():
    found = cycles(import_graph())
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_models_do_not_import_the_asset_cache():
    graph = import_graph()
    offenders = {m: sorted(t for t in deps if t in ("paperlib.infra.assets", "paperlib.infra.download"))
                 for m, deps in graph.items() if m.startswith("paperlib.models")}
    assert not any(offenders.values()), offenders


#: The layers, top first; a module may import from its own layer and the layers below it. Within a
#: layer, different subpackages may import each other (evaluation, photo and teaching are peers).
LAYERS: list[tuple[str, ...]] = [
    ("paperlib.cli", "paperlib.__main__"),
    ("paperlib.evaluation", "paperlib.photo", "paperlib.teaching"),
    ("paperlib.profiles",),
    ("paperlib.synth",),
    ("paperlib.method",),
    ("paperlib.infra",),
    ("paperlib.models",),
]


def layer_of(module: str) -> int:
    """The index of ``module``'s layer in :data:`LAYERS` (0 = top); the package root ``paperlib``
    (only ``__version__``) and ``paperlib.checks`` (the argument validators) sit below everything."""
    if module in ("paperlib", "paperlib.checks"):
        return len(LAYERS)
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} belongs to no layer of tests/test_imports.py LAYERS; add its subpackage there")


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import that goes up the layers, as 'importer -> imported'."""
    return sorted(f"{m} -> {t}" for m, deps in graph.items() for t in deps if layer_of(t) < layer_of(m))


def test_the_layering_checker_finds_an_inverted_import():
    graph = {"paperlib.method.cam": {"paperlib.evaluation.metrics"}, "paperlib.evaluation.metrics": set(),
             "paperlib.photo.edit": {"paperlib.teaching.figures", "paperlib.method.pipeline"},
             "paperlib.teaching.figures": set(), "paperlib.method.pipeline": set()}
    assert layering_violations(graph) == ["paperlib.method.cam -> paperlib.evaluation.metrics"]


def test_every_module_has_a_layer_and_imports_only_downwards():
    graph = import_graph()
    for m in graph:
        layer_of(m)
    assert layering_violations(graph) == []


def test_the_package_root_and_the_validators_import_nothing_of_paperlib():
    graph = import_graph()
    assert graph["paperlib"] == set() and graph["paperlib.checks"] == set()


def test_the_method_core_is_one_folder_with_every_equation():
    core = PACKAGE / "method"
    text = "\n".join(p.read_text() for p in core.glob("*.py"))
    for eq in range(4, 12):
        assert f"eq {eq}" in text.lower() or f"eq. {eq}" in text.lower() or f"({eq})" in text, f"eq {eq} not in method/"

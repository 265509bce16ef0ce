"""Dependencies inside ``simlib`` point one way, along the data flow, with no cycles.

The layers, bottom to top (``docs/architecture.md`` says what each module owns). A module
may import modules of its own layer or of any layer below it, never above; and no set of
modules may import each other in a circle, inside a layer or across layers.

1. ``foundation``: ``core.errors``, ``core.paths``, ``core.domain``. User-facing errors,
   every path, the fixed vocabularies. Import nothing of ours.
2. ``infrastructure``: ``params.config``, ``params.changes``, ``params.tables``,
   ``core.streams``. Reading and validating YAML, deriving a record from another,
   regulation tables, random streams.
3. ``records``: the rest of ``params`` (``scenario``, ``policy``, ``training``,
   ``campaign``, ``runinputs``). The frozen parameter records and their loading; never
   model-side code (the training and campaign sub-simulations live in ``engine``).
4. ``world``: people as numpy arrays; who leaves, moves, is hired.
5. ``rules``: ratings, predikat, pay.
6. ``behaviour``: fairness, adoption, gaming; effort and true performance.
7. ``engine``: the declared outcomes, ``simulate`` and the sub-simulations.
8. ``storage`` (``store``): output folders, the run store, rating data sets, provenance.
9. ``analysis``: paired effects, intervals, variance components; reads the store.
10. ``experiment``: plans and sweeps, file kinds, calibration. It sits *above* analysis
    because its sequential stopping rule reads paired effects of the runs stored so far.
11. ``reporting``: strings and formats, figures, notebook content and HTML.
12. ``interface``: ``cli``, ``__main__`` and the facade ``simlib/__init__.py``. Nothing
    inside ``simlib`` imports names from the facade (``from simlib import simulate``);
    importing a submodule through it counts as importing that submodule.

A module belongs to the layer of its longest matching entry, so ``params.config`` is in
layer 2 while the rest of ``params`` is in layer 3.

Every import counts: module level, inside functions and under ``TYPE_CHECKING``, because
a function-level import is still a dependency (that is how ``cli`` <-> ``report`` hid).
Model-side code (layers 1 to 7) also never imports matplotlib, statsmodels, the store, or
the libraries of storage, reporting and distributed execution (:data:`NOT_MODEL_SIDE`), as
``../shared/DESIGN.md`` asks.

Why a small AST scan rather than import-linter: it needs no new dependency, counts
function-level imports the same way, and its checker is a plain function of a module graph,
so a unit test can feed it a synthetic graph with a cycle and an upward import and see
both reported (import-linter's contracts run against an importable package on disk).

Run ``python tests/test_architecture.py`` to print the layers, their imports and any
violation.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simlib"

#: Bottom to top; an entry names a module or a package (all its modules), without "simlib.".
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("core.errors", "core.paths", "core.domain", "core")),
    ("infrastructure", ("params.config", "params.changes", "core.streams", "params.tables")),
    (
        "records",
        (
            "params.training",
            "params.campaign",
            "params.careers",
            "params.scenario",
            "params.policy",
            "params.runinputs",
            "params.resolve",
            "params",
        ),
    ),
    ("world", ("world",)),
    ("rules", ("rules",)),
    ("behaviour", ("behaviour",)),
    ("engine", ("engine",)),
    ("storage", ("store",)),
    ("analysis", ("analysis",)),
    ("experiment", ("experiment",)),
    ("reporting", ("reporting",)),
    ("interface", ("cli", "__main__", "")),  # "" = the package facade
)

#: The highest layer that counts as model-side code.
MODEL_SIDE_TOP = "engine"

#: Third-party packages model-side code never imports.
NOT_MODEL_SIDE = (
    "matplotlib", "statsmodels", "pyarrow", "papermill", "nbformat", "nbconvert", "IPython",
    "tqdm", "dask", "distributed",
)  # fmt: skip

Graph = Mapping[str, Iterable[str]]


# --- the scan ---------------------------------------------------------------------------


def module_names(package: Path, name: str = "simlib") -> dict[str, Path]:
    """Dotted name -> file of every module in ``package`` (a package is its ``__init__``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = [name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def scan(package: Path, name: str = "simlib") -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Imports of every module of ``package``, wherever in the module they are.

    Returns the internal graph (module -> modules of the package it imports) and the
    external one (module -> top-level names of other packages it imports).
    """
    modules = module_names(package, name)
    internal: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        here = module if is_package else module.rpartition(".")[0]
        targets: set[str] = set()
        outside: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == name or alias.name.startswith(name + "."):
                        targets.add(_known(alias.name, modules))
                    else:
                        outside.add(alias.name.partition(".")[0])
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                if source != name and not source.startswith(name + "."):
                    if source != "__future__":
                        outside.add(source.partition(".")[0])
                    continue
                subs = {f"{source}.{a.name}" for a in node.names} & modules.keys()
                targets |= subs
                if len(subs) < len(node.names):  # some names come from the module itself
                    targets.add(_known(source, modules))
        targets.discard(module)
        internal[module] = targets
        external[module] = outside
    return internal, external


def _known(dotted: str, modules: Mapping[str, Path]) -> str:
    """The longest prefix of ``dotted`` that is a module (``a.b.c`` of a module ``a.b``)."""
    while dotted not in modules and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


# --- the checker ------------------------------------------------------------------------


def layer_of(module: str, layers: Sequence[tuple[str, Sequence[str]]], name: str = "simlib"):
    """Index of the layer holding ``module`` (by its longest matching entry), or None."""
    best, best_len = None, -1
    for index, (_layer, entries) in enumerate(layers):
        for entry in entries:
            full = f"{name}.{entry}" if entry else name
            matches = module == full or (entry and module.startswith(full + "."))
            if matches and len(full) > best_len:
                best, best_len = index, len(full)
    return best


def cycles(graph: Graph) -> list[list[str]]:
    """One concrete cycle through each strongly connected set of modules (Tarjan)."""
    edges = {m: sorted(set(ts)) for m, ts in graph.items()}
    for targets in list(edges.values()):
        for t in targets:
            edges.setdefault(t, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_path_through(c, edges) for c in components]


def _path_through(component: set[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """A shortest cycle from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in edges[v]:
            if w == start:
                return [*paths[v], start]
            if w in component and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError("a strongly connected component without a cycle")  # pragma: no cover


def violations(
    internal: Graph,
    external: Graph | None = None,
    *,
    layers: Sequence[tuple[str, Sequence[str]]] = LAYERS,
    model_side_top: str = MODEL_SIDE_TOP,
    not_model_side: Iterable[str] = NOT_MODEL_SIDE,
    name: str = "simlib",
) -> list[str]:
    """Every break of the layering, one line each: unplaced modules, upward imports,
    cycles, and model-side imports of the libraries in ``not_model_side``."""
    problems = []
    names = [layer for layer, _ in layers]
    top = names.index(model_side_top)
    for module in sorted(internal):
        here = layer_of(module, layers, name)
        if here is None:
            problems.append(f"{module}: in no layer (add it to LAYERS and docs/architecture.md)")
            continue
        for target in sorted(internal[module]):
            there = layer_of(target, layers, name)
            if there is not None and there > here:
                problems.append(
                    f"upward import: {module} ({names[here]}) imports {target} ({names[there]})"
                )
        if here <= top:
            for lib in sorted(set((external or {}).get(module, ())) & set(not_model_side)):
                problems.append(f"model-side {module} ({names[here]}) imports {lib}")
    for cycle in cycles(internal):
        problems.append("cycle: " + " -> ".join(cycle))
    return problems


# --- the tests --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return scan(PACKAGE)


def test_simlib_imports_point_down_the_layers_without_cycles(graph):
    internal, external = graph
    problems = violations(internal, external)
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_the_checker_reports_a_cycle_an_upward_import_and_an_unplaced_module():
    layers = (("low", ("a", "b", "c")), ("high", ("top",)))
    internal = {
        "simlib.a": {"simlib.b"},
        "simlib.b": {"simlib.c"},
        "simlib.c": {"simlib.a"},  # a -> b -> c -> a, all in one layer
        "simlib.top": {"simlib.a"},  # downward: fine
        "simlib.stray": set(),
    }
    internal["simlib.b"] = {"simlib.c", "simlib.top"}  # and an upward import
    external = {"simlib.a": {"matplotlib", "numpy"}, "simlib.top": {"matplotlib"}}
    problems = violations(internal, external, layers=layers, model_side_top="low")
    assert "upward import: simlib.b (low) imports simlib.top (high)" in problems, problems
    assert "cycle: simlib.a -> simlib.b -> simlib.c -> simlib.a" in problems, problems
    assert "model-side simlib.a (low) imports matplotlib" in problems, problems
    assert any(p.startswith("simlib.stray: in no layer") for p in problems), problems
    assert not any("simlib.top (high) imports matplotlib" in p for p in problems), problems


def test_the_scan_counts_function_level_relative_and_facade_imports(tmp_path):
    pkg = tmp_path / "simlib"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Facade."""\nfrom simlib.low import thing\n')
    (pkg / "low.py").write_text(
        '"""Low."""\n\n\ndef f():\n    from simlib import high\n    import matplotlib.pyplot\n'
    )
    (pkg / "high.py").write_text('"""High."""\nfrom simlib import low, thing\n')
    (pkg / "sub" / "__init__.py").write_text('"""Sub."""\nfrom .mod import x\n')
    (pkg / "sub" / "mod.py").write_text('"""Mod."""\nfrom ..low import f\nimport simlib.sub\n')
    internal, external = scan(pkg)
    assert internal["simlib.low"] == {"simlib.high"}
    assert external["simlib.low"] == {"matplotlib"}
    assert internal["simlib.high"] == {"simlib.low", "simlib"}  # ``thing`` is the facade's
    assert internal["simlib.sub"] == {"simlib.sub.mod"}
    assert internal["simlib.sub.mod"] == {"simlib.low", "simlib.sub"}
    assert internal["simlib"] == {"simlib.low"}
    found = cycles(internal)  # one cycle per circle: facade -> low -> high -> facade
    assert ["simlib", "simlib.low", "simlib.high", "simlib"] in found, found
    assert ["simlib.sub", "simlib.sub.mod", "simlib.sub"] in found, found


def test_every_module_says_what_it_owns_and_is_in_the_architecture_page(graph):
    internal, _ = graph
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = module_names(PACKAGE)
    silent = [m for m, p in modules.items() if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not silent, f"modules without a docstring saying what they own: {silent}"
    short = {m.removeprefix("simlib.") for m in internal if m != "simlib"} - {"__main__"}
    missing = sorted(m for m in short if f"`{m}`" not in page)
    assert not missing, f"docs/architecture.md does not list: {missing}"


# --- a readable print-out ---------------------------------------------------------------


def _report() -> str:
    internal, external = scan(PACKAGE)
    lines = []
    for index, (layer, _entries) in enumerate(LAYERS, start=1):
        lines.append(f"{index:2d}. {layer}")
        for module in sorted(m for m in internal if layer_of(m, LAYERS) == index - 1):
            deps = ", ".join(sorted(d.removeprefix("simlib.") for d in internal[module]))
            lines.append(f"      {module.removeprefix('simlib.') or 'simlib'} -> {deps or '-'}")
    problems = violations(internal, external)
    lines.append(f"{len(problems)} violations")
    lines.extend(problems)
    return "\n".join(lines)


if __name__ == "__main__":
    print(_report())  # noqa: T201
    sys.exit(0)

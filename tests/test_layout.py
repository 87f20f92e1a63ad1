"""The library's layout mirrors the workflow's stages: ``rules/<stage>.smk`` -> ``scripts/<step>.py`` ->
``bmc.<stage>``.

Checked from the source alone (``ast``; nothing is imported, so no torch): the shared top-level modules import
no stage subpackage; the subpackages import each other without a cycle (function-level imports count); every
rule's ``script:`` exists and every ``from bmc... import name`` in the scripts, rules, library, tests and
benchmarks names a module that exists and a name it defines; every module and subpackage opens with a
docstring saying what of the paper or the official code it reproduces.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PKG = SRC / "bmc"

# Top-level modules every stage may import; they import no stage (nor anything above them).
SHARED = {"bmc.cache", "bmc.config", "bmc.io", "bmc.provenance", "bmc.runtime", "bmc.settings", "bmc.templates"}
STAGES = {"analysis", "bridging", "cluster", "data", "evaluation", "instruction_following", "models", "report",
          "sampling", "training"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _bmc_imports(module: str) -> set[str]:
    """The bmc modules ``module`` imports anywhere in its body (function-level imports included)."""
    out = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target == "bmc" or target.startswith("bmc."):
                for alias in node.names:  # `from bmc.x import y`: y may be a submodule
                    sub = f"{target}.{alias.name}"
                    out.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("bmc.")}
    return out


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else None


def test_every_top_level_module_is_shared_or_a_stage_subpackage():
    top = {m for m in MODULES if m.count(".") == 1}
    modules = {m for m in top if MODULES[m].name != "__init__.py"}
    packages = {m.split(".")[1] for m in top if MODULES[m].name == "__init__.py"}
    assert modules == SHARED
    assert packages == STAGES
    for d in PKG.rglob("*"):
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")):
            assert (d / "__init__.py").exists(), f"{d} holds modules but is no package"


@pytest.mark.parametrize("module", sorted(SHARED))
def test_shared_modules_import_no_stage(module):
    stages = sorted(m for m in _bmc_imports(module) if _stage(m))
    assert not stages, f"{module} (shared) imports stage modules {stages}"


def _stage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {s: set() for s in STAGES}
    for module in MODULES:
        source = _stage(module)
        if source is None:
            continue
        for target in _bmc_imports(module):
            stage = _stage(target)
            if stage is not None and stage != source:
                graph[source].add(stage)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_stage_subpackages_import_each_other_without_a_cycle():
    graph = _stage_graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    # the cycle finder does find one
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_module_imports_itself_in_a_cycle():
    graph = {m: {t for t in _bmc_imports(m) if t in MODULES and t != m} for m in MODULES}
    # a package's __init__ importing its own submodules is no cycle of stages, but module-level cycles are bugs
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


# --------------------------------------------------------------------------------------- entry points
_SCRIPT = re.compile(r"^\s*script:\s*\n\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_FROM = re.compile(r"^[ \t]*from[ \t]+(bmc(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+(bmc(?:\.\w+)+)", re.MULTILINE)
RULE_FILES = sorted((REPO / "rules").glob("*.smk"))


def test_every_rule_script_exists():
    scripts = set()
    for path in RULE_FILES:
        for entry in _SCRIPT.findall(path.read_text(encoding="utf-8")):
            script = (path.parent / entry).resolve()
            assert script.is_file(), f"{path.name}: script {entry} does not exist"
            scripts.add(script)
    assert len(scripts) > 20


def _defined(module: str) -> set[str]:
    """Top-level names of a module: definitions, assignments, imports (re-exports) and its submodules."""
    names = set()
    for node in ast.parse(MODULES[module].read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names | {m.rsplit(".", 1)[1] for m in MODULES if "." in m and m.rsplit(".", 1)[0] == module}


def _imported_names(text: str) -> list[tuple[str, list[str]]]:
    out = []
    for module, names in _FROM.findall(text):
        names = re.sub(r"#[^\n]*", "", names).strip("()")
        out.append((module, [n.split(" as ")[0].strip() for n in names.split(",") if n.strip()]))
    out += [(m, []) for m in _IMPORT.findall(text)]
    return out


IMPORTERS = sorted([*(REPO / "scripts").glob("*.py"), *RULE_FILES, REPO / "Snakefile", *(REPO / "tests").glob("*.py"),
                    *(REPO / "benchmarks").glob("*.py"), *(REPO / "benchmarks").glob("*.sh"), *MODULES.values()])


@pytest.mark.parametrize("path", IMPORTERS, ids=lambda p: str(p.relative_to(REPO)))
def test_bmc_imports_name_existing_modules_and_names(path):
    for module, names in _imported_names(path.read_text(encoding="utf-8")):
        assert module in MODULES, f"{path.relative_to(REPO)}: no module {module}"
        missing = sorted(set(names) - _defined(module))
        assert not missing, f"{path.relative_to(REPO)}: {module} has no {missing}"


def test_scripts_import_the_library_and_no_old_module_path():
    for path in sorted((REPO / "scripts").glob("*.py")):
        for module, _ in _imported_names(path.read_text(encoding="utf-8")):
            assert module in SHARED or _stage(module), f"{path.name}: {module}"


# ----------------------------------------------------------------------------------------- docstrings
_REFERENCE = re.compile(r"paper|official", re.IGNORECASE)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_opens_with_a_docstring_naming_what_it_reproduces(module):
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert doc, f"{module} has no docstring"
    first = doc.split("\n\n")[0]
    assert _REFERENCE.search(first), f"{module}: the first paragraph names no paper section or official file"


def test_the_test_set_setups_in_settings_match_the_registry():
    """bmc.config checks test-set names against bmc.settings.TEST_SET_SETUPS (no import of the data stage)."""
    from bmc.data.test_sets import TEST_SETS
    from bmc.settings import TEST_SET_SETUPS

    assert {name: spec.setup for name, spec in TEST_SETS.items()} == TEST_SET_SETUPS


def test_the_released_splits_in_settings_match_the_registry():
    """bmc.config checks a released_pairs block against bmc.settings.RELEASED_SPLITS (no import of the data stage)."""
    from bmc.data.training_data import SOURCES
    from bmc.settings import RELEASED_SPLITS

    assert {n: s.splits for n, s in SOURCES.items() if s.kind == "released_pairs"} == RELEASED_SPLITS


def test_the_paper_values_are_package_data_of_the_report():
    from importlib import resources

    files = {p.name for p in resources.files("bmc.report").joinpath("paper").iterdir()}
    assert {"paper_results.csv", "paper_delta_sweep.csv", "paper_edit_distance_splits.csv"} <= files
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"bmc.report" = ["paper/*.csv"]' in pyproject


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_subpackage_docstring_names_its_modules(stage):
    doc = ast.get_docstring(ast.parse(MODULES[f"bmc.{stage}"].read_text(encoding="utf-8")))
    children = sorted(m.rsplit(".", 1)[1] for m in MODULES if m.rsplit(".", 1)[0] == f"bmc.{stage}")
    assert children and not [c for c in children if f"``{c}``" not in doc], (stage, children)

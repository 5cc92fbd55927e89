"""The house's size and import rules (issue 18), checked over the source.

Modules stay under 600 lines and functions under 80 in `portal/` and `staff_bridge/`; a domain
module imports another domain module at its top, never inside a function, unless the line says
why it must be lazy (`# lazy: ...`); the domain writes no link to the portal's own pages.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _sources():
    for folder in ("portal", "staff_bridge"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text()


def _functions(source: str):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_modules_stay_under_600_lines():
    over = {}
    for name, source in _sources():
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            over[name] = lines
    assert over == {}


def test_functions_stay_under_80_lines():
    over = {}
    for name, source in _sources():
        for function in _functions(source):
            lines = function.end_lineno - function.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                over[f"{name}::{function.name}"] = lines
    assert over == {}


def test_domain_modules_import_each_other_at_the_top():
    hidden = []
    for name, source in _sources():
        if not name.startswith("portal/domain/"):
            continue
        lines = source.splitlines()
        for function in _functions(source):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                if not any(m.startswith("portal.domain") for m in modules):
                    continue
                if "# lazy:" not in lines[node.lineno - 1]:
                    hidden.append(f"{name}:{node.lineno} in {function.name}()")
    assert hidden == []


def test_the_rules_see_the_code():
    """The walk reads the real tree (a wrong ROOT would pass every rule above)."""
    sources = dict(_sources())
    assert len(sources) > 80
    assert "portal/domain/features.py" in sources


def test_the_domain_writes_no_link_to_the_portal():
    """Links are built at the edge (portal.links): no domain string starts with one of the
    portal's own paths, and nothing in the domain reads BASE_URL."""
    routes = (ROOT / "tests" / "integration" / "routes.txt").read_text().splitlines()
    prefixes = {"/" + line.split()[0].strip("/").split("/")[0] for line in routes if line.strip()}
    prefixes.discard("/")
    found = []
    for name, source in _sources():
        if not name.startswith("portal/domain/"):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and node.attr == "base_url":
                found.append(f"{name}:{node.lineno} reads base_url")
            texts = []
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts = [node.value]
            elif isinstance(node, ast.JoinedStr):
                texts = [v.value for v in node.values[:1] if isinstance(v, ast.Constant)]
            for value in texts:
                if any(value == p or value.startswith(p + "/") for p in prefixes):
                    found.append(f"{name}:{node.lineno} {value[:40]!r}")
    assert len(prefixes) >= 10
    assert found == []


def test_no_module_reaches_into_another_packages_private_modules():
    """import-linter's private-modules contract sees `from pkg._mod import x`; this sees the
    other spelling, `from pkg import _mod`, which it does not."""
    found = []
    for name, source in _sources():
        module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                ("portal", "staff_bridge")
            ):
                continue
            folder = ROOT / node.module.replace(".", "/")
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                a_module = (folder / f"{alias.name}.py").is_file() or (folder / alias.name).is_dir()
                inside = module == node.module or module.startswith(node.module + ".")
                if private and a_module and not inside:
                    found.append(f"{name}:{node.lineno} {node.module}.{alias.name}")
    assert found == []

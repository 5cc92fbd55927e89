"""R34 lint: nothing turns autoescaping off or marks text safe unless it is on the list below.

Templates (every file under templates/) are searched for `|safe`, `{% filter safe %}` and
`{% autoescape %}`; the Python of portal/ and staff_bridge/ for `Markup(...)` (however
imported or aliased, `markupsafe.Markup(...)` too), `Markup` handed on uncalled, `__html__`
(a class that calls itself safe HTML), templates built from strings (`render_template_string`,
`from_string`: text that becomes template code) and autoescaping switched off
(`autoescape=...`, `.autoescape = ...`, `select_jinja_autoescape`).

Each place that does one of these is listed in ALLOWED with the file, the exact expression
(`ast.unparse` of the call for Python, the whitespace-collapsed tag for templates) and why no
unsanitised user data reaches it. A new place fails the test until someone reads it and lists
it; a listed place that is gone fails it too, so the list stays true.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PYTHON = (ROOT / "portal", ROOT / "staff_bridge")


@dataclass(frozen=True)
class Allowed:
    file: str
    expression: str
    reason: str
    count: int = 1  # the same expression more than once in the file


ALLOWED = (
    Allowed(
        "portal/i18n.py",
        "Markup(text)",
        "Jinja's newstyle gettext, as Jinja's own: `text` is the catalog's translation of a "
        "literal string in a template (translations/ in the repository, never user data); the "
        "values are %-formatted into the Markup, which escapes each of them. Only when the "
        "template autoescapes (plain-text mail templates get the plain string).",
        count=2,
    ),
    Allowed(
        "portal/domain/messaging/_text.py",
        "Markup(_render_html(text or ''))",
        "A message body: html.escape(quote=True) first, then links made only for http, https, "
        "mailto and tel, then bleach's MESSAGE allowlist (p, br, a, em, strong; href and rel) "
        "over the result (portal.domain.core.sanitiser; tests/unit/test_sanitiser.py).",
    ),
    Allowed(
        "portal/domain/esign/_texts.py",
        "Markup(clean)",
        "A document to sign: Markdown rendered with raw HTML off, then bleach's DOCUMENT "
        "allowlist (headings, paragraphs, lists, emphasis, links to http/https/mailto/tel).",
    ),
    Allowed(
        "portal/domain/esign/_templates.py",
        'Markup(f\'<h3>{html.escape(text.title)}</h3><p class="summary">'
        "{html.escape(text.summary)}</p>{render_markdown(text.body)}')",
        "An administrator's preview of a template version: title and summary through "
        "html.escape, the body through render_markdown (the DOCUMENT allowlist above).",
    ),
)

MARKUP_MODULES = {"markupsafe", "flask", "jinja2", "jinja2.utils"}
TEMPLATE_FROM_STRING = {"render_template_string", "render_template_string_async", "from_string"}

# Jinja tags (comments dropped first) and what in one of them turns escaping off.
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
UNSAFE_IN_TAG = re.compile(r"\|\s*safe\b|^\{%-?\s*(?:filter\s+safe|autoescape)\b")


def files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file())


# --- templates ---------------------------------------------------------------------------


def template_findings(folder: Path = TEMPLATES, base: Path = ROOT) -> list[tuple[str, str]]:
    """(file, tag) for each Jinja tag that marks something safe or sets autoescaping."""
    found = []
    for path in files(folder, "*"):
        text = COMMENT.sub("", path.read_text(encoding="utf-8"))
        for tag in TAG.findall(text):
            shown = " ".join(tag.split())
            if UNSAFE_IN_TAG.search(shown):
                found.append((path.relative_to(base).as_posix(), shown))
    return found


# --- Python ------------------------------------------------------------------------------


def _markup_aliases(tree: ast.Module) -> set[str]:
    """The names Markup goes by in a module (`from markupsafe import Markup as M`: "M")."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in MARKUP_MODULES
        for alias in node.names
        if alias.name == "Markup"
    }


def _annotation_nodes(tree: ast.Module) -> set[int]:
    """Every node inside a type annotation (`-> Markup` marks nothing safe)."""
    roots = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            roots.append(node.returns)
            arguments = node.args
            roots += [
                a.annotation
                for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            ]
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots if root is not None for inner in ast.walk(root)}


def _module_findings(tree: ast.Module) -> list[str]:
    aliases = _markup_aliases(tree)

    def is_markup(node) -> bool:
        if isinstance(node, ast.Name):
            return node.id in aliases
        return isinstance(node, ast.Attribute) and node.attr == "Markup"

    skip = _annotation_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            escaping_off = any(
                k.arg == "autoescape"
                and not (isinstance(k.value, ast.Constant) and k.value.value is True)
                for k in node.keywords
            )
            if is_markup(func) or name in TEMPLATE_FROM_STRING or escaping_off:
                found.append(ast.unparse(node))
            if is_markup(func):
                skip.add(id(func))  # counted as the call
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in ("__html__", "select_jinja_autoescape"):
                found.append(f"def {node.name}")
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in ("autoescape", "select_jinja_autoescape")
            for t in node.targets
        ):
            found.append(ast.unparse(node))
    # Markup handed on uncalled (`safe = Markup`, `map(Markup, names)`): a call elsewhere.
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and is_markup(node) and id(node) not in skip:
            found.append(f"{ast.unparse(node)} (handed on, not called)")
    return found


def python_findings(folders=PYTHON, base: Path = ROOT) -> list[tuple[str, str]]:
    """(file, expression) for each place Python marks text safe or sets autoescaping."""
    found = []
    for folder in folders:
        for path in files(folder, "*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            name = path.relative_to(base).as_posix()
            found += [(name, expression) for expression in _module_findings(tree)]
    return found


# --- the tests -----------------------------------------------------------------------------


def allowed() -> Counter:
    return Counter({(a.file, a.expression): a.count for a in ALLOWED})


def unlisted(found: list[tuple[str, str]]) -> list[str]:
    extra = Counter(found) - allowed()
    return [f"{file}: {expression}" for (file, expression), _n in sorted(extra.items())]


@pytest.mark.requirement("R34")
def test_nothing_is_marked_safe_or_unescaped_outside_the_allowlist():
    found = template_findings() + python_findings()
    assert unlisted(found) == [], (
        "Read each of these: if no unsanitised user data can reach it, add it to ALLOWED "
        "with the reason; otherwise escape or sanitise it."
    )


@pytest.mark.requirement("R34")
def test_every_allowlist_entry_is_still_there():
    found = Counter(template_findings() + python_findings())
    stale = [
        f"{a.file}: {a.expression} (listed {a.count}, found {found[(a.file, a.expression)]})"
        for a in ALLOWED
        if found[(a.file, a.expression)] != a.count
    ]
    assert stale == []
    assert all(len(a.reason) > 40 for a in ALLOWED), "every entry says why it is safe"


@pytest.mark.requirement("R34")
def test_every_template_is_autoescaped_by_its_name_or_is_a_plain_text_mail():
    """Flask autoescapes by file name (.html, .htm, .xml, .xhtml, .svg); the only others are
    the plain-text mail templates, sent as text/plain alone (tests/integration/
    test_hostile_text.py checks the mails)."""
    from flask import Flask

    flask = Flask(__name__)
    others = [
        path.relative_to(ROOT).as_posix()
        for path in files(TEMPLATES, "*")
        if not flask.select_jinja_autoescape(path.name)
        and not (path.parent == TEMPLATES / "mail" and path.suffix == ".txt")
    ]
    assert others == []
    mails = sorted((TEMPLATES / "mail").glob("*"))
    assert mails and all(not flask.select_jinja_autoescape(p.name) for p in mails)
    assert not any(re.search(r"<\s*(html|body|a|p|br)\b", p.read_text()) for p in mails), (
        "a mail template holds HTML: it would need an autoescaped .html template"
    )


UNSAFE_SAMPLES = {
    "templates": [
        "{{ client.first_name|safe }}",
        "{{ name | safe }}",
        "{% filter safe %}{{ x }}{% endfilter %}",
        "{% autoescape false %}{{ x }}{% endautoescape %}",
        "{%- autoescape False -%}",
        "{% set shown = note|safe %}",
    ],
    "python": [
        "from markupsafe import Markup\nMarkup(name)\n",
        "from markupsafe import Markup as M\nM(name)\n",
        "import markupsafe\nmarkupsafe.Markup(name)\n",
        "import markupsafe as ms\nms.Markup(name)\n",
        "from flask import Markup\nsafe = Markup\n",
        "from flask import render_template_string\nrender_template_string(text)\n",
        "env.from_string(text)\n",
        "Environment(autoescape=False)\n",
        "app.jinja_env.autoescape = False\n",
        "class Shown:\n    def __html__(self):\n        return self.text\n",
    ],
}
SAFE_SAMPLES = {
    "templates": ["{{ client.first_name }}", "{{ safe_next }}", "{# |safe in a comment #}"],
    "python": [
        "from markupsafe import Markup\ndef f(x) -> Markup:\n    y: Markup = x\n    return y\n",
        "from markupsafe import escape\nescape(name)\n",
        "flag = context.eval_ctx.autoescape\n",
    ],
}


@pytest.mark.parametrize("sample", UNSAFE_SAMPLES["templates"])
def test_the_template_scan_finds_each_way_of_marking_safe(tmp_path, sample):
    (tmp_path / "page.html").write_text(f"<p>{sample}</p>")
    assert len(_scan_templates(tmp_path)) == 1


@pytest.mark.parametrize("sample", SAFE_SAMPLES["templates"])
def test_the_template_scan_leaves_escaped_output_alone(tmp_path, sample):
    (tmp_path / "page.html").write_text(f"<p>{sample}</p>")
    assert _scan_templates(tmp_path) == []


@pytest.mark.parametrize("sample", UNSAFE_SAMPLES["python"])
def test_the_python_scan_finds_each_way_of_marking_safe(tmp_path, sample):
    (tmp_path / "module.py").write_text(sample)
    assert len(_scan_python(tmp_path)) == 1, _scan_python(tmp_path)


@pytest.mark.parametrize("sample", SAFE_SAMPLES["python"])
def test_the_python_scan_leaves_annotations_and_escaping_alone(tmp_path, sample):
    (tmp_path / "module.py").write_text(sample)
    assert _scan_python(tmp_path) == []


def _scan_templates(folder: Path) -> list[str]:
    return [tag for _file, tag in template_findings(folder, base=folder)]


def _scan_python(folder: Path) -> list[str]:
    return [expression for _file, expression in python_findings([folder], base=folder)]

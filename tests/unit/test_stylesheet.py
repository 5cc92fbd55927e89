"""Issue 17: the stylesheet is written with logical properties (`margin-inline-start`, not
`margin-left`), so a right-to-left language can come later without another rewrite.

Vertical ones are logical too (`margin-block-start`), for one rule that is easy to keep: no
property named after a side of the screen, no `text-align`/`float`/`clear` to a side, and no
four-value margin, padding or inset shorthand whose two inline values differ (those are
physical: top, right, bottom, left)."""

from __future__ import annotations

import re

from tests.support import PROJECT_ROOT

STYLESHEET = PROJECT_ROOT / "static" / "css" / "portal.css"
DECLARATION = re.compile(r"([a-z-]+)\s*:\s*([^;{}]+)")
SIDE = r"(left|right|top|bottom)"
PHYSICAL_PROPERTY = re.compile(
    rf"^((margin|padding|scroll-margin|scroll-padding)-{SIDE}|border-{SIDE}(-(width|style|color))?"
    rf"|border-{SIDE}-{SIDE}-radius|{SIDE})$"
)
SIDE_VALUE = re.compile(r"^(text-align|float|clear)$")


def physical_declarations(css: str) -> list[str]:
    """Every declaration in `css` that names a side of the screen."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for block in re.findall(r"\{([^{}]*)\}", css):
        for prop, value in DECLARATION.findall(block):
            value = value.strip()
            parts = value.split()
            to_a_side = SIDE_VALUE.match(prop) and value in ("left", "right")
            uneven = prop in ("margin", "padding", "inset") and len(parts) == 4
            if PHYSICAL_PROPERTY.match(prop) or to_a_side or (uneven and parts[1] != parts[3]):
                found.append(f"{prop}: {value}")
    return found


def test_the_stylesheet_uses_logical_properties_only():
    css = STYLESHEET.read_text(encoding="utf-8")
    assert len(DECLARATION.findall(css)) > 100  # the file is read, not an empty stand-in
    assert physical_declarations(css) == []


def test_the_check_finds_each_physical_form():
    css = """
    /* margin-left: 1rem in a comment is fine */
    .a { margin-left: 1rem; padding-top: 2px; border-bottom: 1px solid; }
    .b { left: 0; text-align: right; float: left; border-top-left-radius: 3px; }
    .c { margin: 0 1rem 0 2rem; padding: 0 1rem 0 1rem; text-align: start; }
    .d { margin-inline-start: 1rem; inset-block-end: 0; border-inline-start-color: red; }
    """
    assert physical_declarations(css) == [
        "margin-left: 1rem",
        "padding-top: 2px",
        "border-bottom: 1px solid",
        "left: 0",
        "text-align: right",
        "float: left",
        "border-top-left-radius: 3px",
        "margin: 0 1rem 0 2rem",
    ]

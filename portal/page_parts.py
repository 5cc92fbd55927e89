"""A page built from registered parts, so a feature adds its part without editing the page:
the client's home page (panels) and the staff client record (sections) are each a
`PageParts`. A part is a function (viewer, client) that returns the values its template shows,
or None to show nothing; its template is `<folder>/<function name>.html`, where the page
includes it with the values as one name (`panel`, `section`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Part:
    name: str
    order: int
    build: Callable  # (viewer, client) -> dict | None


class PageParts:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.parts: list[Part] = []

    def part(self, order: int):
        """Register the decorated function as a part, shown in `order`."""

        def register(build):
            self.parts.append(Part(build.__name__, order, build))
            self.parts.sort(key=lambda each: each.order)
            return build

        return register

    def shown(self, viewer, client) -> list[tuple[str, dict]]:
        """(template, values) of every part that has something to show, in order."""
        shown = []
        for each in self.parts:
            values = each.build(viewer, client)
            if values is not None:
                shown.append((f"{self.folder}/{each.name}.html", values))
        return shown

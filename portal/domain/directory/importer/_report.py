"""What an import reports: per table, rows added, updated, skipped (with examples)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from portal.domain.directory.importer._specs import EXAMPLES, ORDER

# --- the report ------------------------------------------------------------------------------


@dataclass
class TableReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    examples: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def skip(self, number: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append((number, reason))


@dataclass
class ImportReport:
    tables: dict[str, TableReport] = field(default_factory=lambda: defaultdict(TableReport))
    warnings: Counter = field(default_factory=Counter)  # message -> times
    legacy: bool = False
    searchable: int = 0  # active services clients can find

    def warn(self, message: str) -> None:
        self.warnings[message] += 1

    def summary(self) -> dict:
        return {
            table: {
                "inserted": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "skipped": sum(r.skipped.values()),
            }
            for table, r in self.tables.items()
        }

    def lines(self) -> list[str]:
        """The report in words, for the command line and the upload page."""
        out = []
        for table in ORDER:
            if table not in self.tables:
                continue
            r = self.tables[table]
            out.append(
                f"{table}: {r.imported} imported ({r.inserted} new, {r.updated} changed, "
                f"{r.unchanged} unchanged), {sum(r.skipped.values())} skipped"
            )
            for reason, count in r.skipped.most_common():
                out.append(f"  skipped {count}: {reason}")
        out.append(f"{self.searchable} services can be found by clients")
        for message, count in self.warnings.most_common():
            out.append(f"warning: {message}" + (f" ({count} times)" if count > 1 else ""))
        return out


class ImportRefused(Exception):
    """The source cannot be read at all (not a datapackage, not HSDS JSON, too big)."""

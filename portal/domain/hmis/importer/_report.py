"""What an import reports: per file, rows created, updated, skipped and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileReport:
    """What happened to one CSV file. Rows are numbered from 1 (the first data row)."""

    name: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
        }


@dataclass
class ImportReport:
    csv_version: str = ""
    # Export.csv's ExportDirective (HUD list 1.2: 1 delta refresh, 2 full refresh, 3 other);
    # None when Export.csv does not say.
    directive: int | None = None
    files: dict[str, FileReport] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    fatal: str | None = None
    fatal_file: str | None = None  # the file a fatal code is about (missing, twice, too large)

    @property
    def ok(self) -> bool:
        return self.fatal is None and not any(f.errors for f in self.files.values())

    @property
    def is_delta(self) -> bool:
        return self.directive == 1

    def totals(self) -> dict[str, int]:
        """Rows new, updated and unchanged over every file."""
        return {
            key: sum(getattr(f, key) for f in self.files.values())
            for key in ("imported", "updated", "unchanged")
        }


class _Fatal(Exception):
    def __init__(self, code: str, file: str | None = None):
        super().__init__(code)
        self.code = code
        self.file = file  # the file it is about, when there is one

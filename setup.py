"""The wheel's one build step pyproject.toml cannot say: templates/, static/, migrations/ and the
compiled translations go into the package (portal/bundled/), so `pip install .` (not editable)
gives an app that finds everything it needs (portal.settings.RESOURCES). Metadata and
dependencies are in pyproject.toml."""

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithResources(build_py):
    def run(self):
        super().run()
        bundled = Path(self.build_lib) / "portal" / "bundled"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
        for name in ("templates", "static", "migrations"):
            shutil.copytree(ROOT / name, bundled / name, ignore=skip, dirs_exist_ok=True)
        for source in sorted((ROOT / "translations").glob("*/LC_MESSAGES/*.po")):
            target = bundled / source.relative_to(ROOT).with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as po, target.open("wb") as mo:
                write_mo(mo, read_po(po), use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithResources})

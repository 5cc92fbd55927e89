"""Features plug in at one place: portal.domain.features declares and installs them."""

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import portal.domain
from portal.domain import features
from portal.domain.core import jobs

ROOT = Path(__file__).resolve().parents[2]
NOT_FEATURES = {"core", "models"}  # the shared core and the one model registry


def _domain_modules():
    for info in pkgutil.walk_packages(portal.domain.__path__, "portal.domain."):
        yield importlib.import_module(info.name)


def test_every_feature_package_is_listed_once():
    packages = {
        info.name
        for info in pkgutil.iter_modules(portal.domain.__path__)
        if info.ispkg and info.name not in NOT_FEATURES
    }
    listed = [f.name for f in features.FEATURES if f.name != "core"]
    assert sorted(listed) == sorted(packages)
    assert len(set(listed)) == len(listed)


def test_every_marked_job_handler_is_declared_by_exactly_one_feature():
    marked = {
        (module.__name__, name): value
        for module in _domain_modules()
        for name, value in inspect.getmembers(module, inspect.isfunction)
        if hasattr(value, "job") and value.__module__ == module.__name__
    }
    declared = [handler for feature in features.FEATURES for handler in feature.jobs]
    assert len(marked) >= 9
    assert sorted(f.job.kind for f in marked.values()) == sorted(f.job.kind for f in declared)
    assert len(declared) == len(set(declared))


def test_loading_installs_what_the_features_declare():
    features.load()
    features.load()  # a second app in the same process changes nothing
    from portal.domain.accounts import staff
    from portal.domain.messaging import notifications
    from portal.domain.selfservice import review

    for feature in features.FEATURES:
        for handler in feature.jobs:
            assert jobs.HANDLERS[handler.job.kind].func is handler
        for name, kind in feature.review_kinds.items():
            assert review.KINDS[name] is kind
        for hook in feature.staff_deactivated:
            assert staff.DEACTIVATION_HOOKS.count(hook) == 1
        for kind, text in feature.notices.items():
            assert notifications.KINDS[kind] is text
    declared = [kind for feature in features.FEATURES for kind in feature.notices]
    assert len(declared) == len(set(declared)) >= 11  # one feature says what each notice says


def test_importing_a_feature_registers_nothing_until_the_features_are_loaded():
    """Nothing works because of an incidental import: a fresh interpreter that imports every
    domain module has no job handler, review kind or hook until features.load() runs."""
    script = """
import importlib, pkgutil
import portal.domain
for info in pkgutil.walk_packages(portal.domain.__path__, "portal.domain."):
    importlib.import_module(info.name)
from portal.domain.core import jobs
from portal.domain.selfservice import review
from portal.domain.accounts import staff
from portal.domain.messaging import notifications
registries = (jobs.HANDLERS, review.KINDS, staff.DEACTIVATION_HOOKS, notifications.KINDS)
print(*map(len, registries))
from portal.domain import features
features.load()
print(*map(len, registries))
"""
    done = subprocess.run(  # noqa: S603 - a fixed script, our own interpreter
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after = done.stdout.split("\n")[:2]
    assert before == "0 0 0 0"
    handlers, kinds, hooks, notices = map(int, after.split())
    assert handlers >= 9 and kinds >= 8 and hooks >= 1 and notices >= 11

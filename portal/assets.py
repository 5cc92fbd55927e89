"""Static files under content-hashed names: `css/portal.css` is linked as
`css/portal.<12 hex of its SHA-256>.css`, so a proxy (or a browser) may keep it for a year and a
new release is fetched at once. The names are worked out from the files when the app starts,
and the app answers them (with the same year-long lifetime) when nothing is in front of it.
`flask collect-static DEST` writes a copy of every file under its hashed name into
DEST/static/ for nginx (deploy/nginx.conf.template), which serves exactly those names and sends
any other to the app: a page of one release never gets another release's file under its name.
Copies are added, never removed, so pages of the release before still find theirs.

In development (files change while the server runs) names stay plain and are revalidated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

YEAR = 365 * 24 * 3600


def hashed_names(folder: Path) -> dict[str, str]:
    """{"css/portal.css": "css/portal.0123456789ab.css", ...} for every file in `folder`."""
    names = {}
    for file in sorted(folder.rglob("*")):
        if not file.is_file():
            continue
        relative = file.relative_to(folder).as_posix()
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        stem, dot, suffix = relative.rpartition(".")
        if not dot or "/" in suffix:  # no extension: the name is left alone
            continue
        names[relative] = f"{stem}.{digest}.{suffix}"
    return names


def collect(source: Path, dest: Path) -> tuple[int, int]:
    """Copy each file of `source` to dest/static/<hashed name> (a name that exists already
    holds these very bytes). Returns (files written, files already there)."""
    written = kept = 0
    for plain, hashed in hashed_names(source).items():
        target = dest / "static" / hashed
        if target.exists():
            kept += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes((source / plain).read_bytes())
        partial.replace(target)
        written += 1
    return written, kept


@click.command("collect-static")
@click.argument("dest", type=click.Path(file_okay=False))
@with_appcontext
def collect_static(dest: str) -> None:
    """Write every static file under its content-hashed name into DEST/static/ (nginx's
    PORTAL_NGINX_STATIC_ROOT is DEST). Run it on each release; it never removes a file."""
    from flask import current_app

    written, kept = collect(Path(current_app.static_folder), Path(dest))
    click.echo(f"{written} files written, {kept} already there ({Path(dest) / 'static'})")


def init_app(app: Flask, *, enabled: bool) -> None:
    if not enabled or not app.static_folder:
        return
    names = hashed_names(Path(app.static_folder))
    originals = {hashed: plain for plain, hashed in names.items()}
    app.extensions["portal.static_names"] = names

    @app.url_defaults
    def _hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in names:
            values["filename"] = names[values["filename"]]

    serve_plain = app.view_functions["static"]

    def static(filename: str):
        plain = originals.get(filename)
        if plain is None:
            return serve_plain(filename=filename)
        response = app.send_static_file(plain)
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static

"""Static files under content-hashed names: `css/portal.css` is linked as
`css/portal.<12 hex of its SHA-256>.css`, so a proxy (or a browser) may keep it for a year and a
new release is fetched at once. The names are worked out from the files when the app starts;
nginx serves the hashed names from the same folder (deploy/nginx.conf.template), and the app
answers them too (with the same year-long lifetime) when nothing is in front of it.

In development (files change while the server runs) names stay plain and are revalidated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask

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

"""Backups that restore (R70): the database and the document store in one folder, with a
manifest of SHA-256s written last, and a restore that checks every file before it touches
anything.

A backup is a new folder DEST/portal-backup-<UTC timestamp>/ (mode 0700, files 0600):
  database.pgdump    `pg_dump --format=custom` (PostgreSQL), or
  database.sqlite3   a copy through SQLite's online backup API (consistent while the portal runs)
  objects/<key>      every object of the document store, under its key
  manifest.json      written last and atomically (temp file, fsync, rename): when, the schema
                     revision, and every file's size and SHA-256. A folder without it is a
                     backup that did not finish, and restore refuses it.

Consistency: the dump comes first and is a snapshot of one moment. An object is stored (and
verified) before the row that points at it commits (`portal.domain.documents`), objects are
write-once, and an object a row points to is never deleted; so every object a dumped row
points to exists when the copy starts and is copied. Objects stored after the dump are copied
too: after a restore no row points at them and the daily orphan sweeper removes them.

What is printed or raised names files, keys and counts, never a password, a client's name or
a file's content (pg_restore's DETAIL lines, which can quote row values, are dropped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL, Engine

from portal.domain.core import clock
from portal.domain.models import Document
from portal.integrations.storage import (
    ObjectExists,
    ObjectMissing,
    ObjectStore,
    StorageUnavailable,
    validate_key,
)

FORMAT = "hmis-portal-backup/1"
MANIFEST = "manifest.json"
OBJECTS = "objects"
DATABASE_FILES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
FOLDER_PREFIX = "portal-backup-"
_CHUNK = 1024 * 1024
_EVERYTHING = datetime(9999, 1, 1, tzinfo=UTC)  # older_than(this): every object in the store
_PG_BIN = "/usr/lib/postgresql/{major}/bin"


class BackupError(Exception):
    """The backup or restore cannot go on. The message (and `problems`, one line per file or
    key) holds no secret and no PII."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class BackupRefused(BackupError):
    """The backup is not whole: nothing was restored. `problems` names each file."""

    def __init__(self, problems: list[str]):
        super().__init__(
            f"the backup is damaged or incomplete ({len(problems)} problems)", problems
        )


@dataclass
class Summary:
    folder: Path
    kind: str  # postgresql or sqlite
    revision: str
    database_bytes: int = 0
    objects: int = 0
    object_bytes: int = 0
    already_there: int = 0  # restore: identical objects the store held already
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


# --- files -----------------------------------------------------------------------------------


def _private_file(path: Path):
    """A new file only the owner can read (the backup holds every client's data)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB"


# --- the database ----------------------------------------------------------------------------


def _kind(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DATABASE_FILES:
        raise BackupError(f"backups know PostgreSQL and SQLite, not {name}")
    return name


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        try:
            return str(conn.scalar(text("SELECT version_num FROM alembic_version")))
        except Exception:
            raise BackupError("the database has no schema yet (flask db upgrade)") from None


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("the SQLite database must be a file path")
    return Path(url.database)


def libpq_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL (`postgresql+psycopg://user:pw@host:port/db?sslmode=...`) as a libpq
    connection string, and the environment that carries the password (PGPASSWORD): the
    password never appears on a command line, where `ps` would show it."""
    values = {
        "host": url.host,
        "port": str(url.port) if url.port else None,
        "dbname": url.database,
        "user": url.username,
    }
    for name, value in url.query.items():  # sslmode, sslrootcert, a socket folder as host...
        values[name] = value if isinstance(value, str) else value[-1]

    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(f"{k}={quoted(v)}" for k, v in values.items() if v)
    env = {"PGPASSWORD": url.password} if url.password else {}
    return conninfo, env


def _tool_major(tool: str) -> int:
    found = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
        [tool, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = re.search(r"\) (\d+)", found.stdout)
    return int(match.group(1)) if match else 0


def pg_tool(name: str, engine: Engine, pg_bin: str | None = None) -> str:
    """pg_dump or pg_restore: from `pg_bin` when given, else the binaries of the server's major
    version (Debian's /usr/lib/postgresql/<major>/bin), else the one on PATH. A tool older
    than the server is refused (pg_dump cannot read a newer server's catalogs)."""
    with engine.connect() as conn:
        major = conn.dialect.server_version_info[0]
    folders = [pg_bin] if pg_bin else [_PG_BIN.format(major=major)]
    tool = next((str(Path(f, name)) for f in folders if Path(f, name).is_file()), None)
    if tool is None and not pg_bin:
        tool = shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} was not found (install postgresql-client-{major})")
    found = _tool_major(tool)
    if found < major:
        raise BackupError(f"{tool} is version {found}, older than the server ({major})")
    return tool


def _pg_errors(stderr: str) -> str:
    """pg_dump/pg_restore's error lines without DETAIL or the failed command, which can quote
    the values of a row."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if "error" in line.lower() and "DETAIL" not in line and "Command was" not in line
    ]
    return " / ".join(lines[:3])[:500] or "no message"


def _run_pg(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell; password in env
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {_pg_errors(done.stderr)}")


def _dump_postgresql(engine: Engine, target: Path, pg_bin: str | None) -> None:
    conninfo, env = libpq_connection(engine.url)
    tool = pg_tool("pg_dump", engine, pg_bin)
    with _private_file(target):
        pass  # pg_dump writes into it and keeps its mode
    _run_pg(
        [tool, "--format=custom", "--no-password", f"--file={target}", f"--dbname={conninfo}"],
        env,
        "pg_dump",
    )


def _dump_sqlite(engine: Engine, target: Path) -> None:
    source_path = _sqlite_path(engine.url)
    if not source_path.is_file():
        raise BackupError(f"{source_path} does not exist")
    with _private_file(target):
        pass  # an empty file is an empty SQLite database; only the owner may read it
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one step: a read transaction, so one consistent moment
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the SQLite copy does not pass quick_check")
    finally:
        copy.close()
        source.close()


def _restore_postgresql(engine: Engine, dump: Path, force: bool, pg_bin: str | None) -> None:
    conninfo, env = libpq_connection(engine.url)
    tool = pg_tool("pg_restore", engine, pg_bin)
    engine.dispose()  # no pooled connection of ours holds a lock pg_restore would wait for
    # Neither owners nor grants: the objects belong to the role restoring (the schema's owner)
    # and `flask grant-app-role` gives the app's role its grants afterwards, so a restore does
    # not depend on the old cluster's role names.
    command = [
        tool,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
    ]
    if force:
        command += ["--clean", "--if-exists"]
    _run_pg([*command, f"--dbname={conninfo}", str(dump)], env, "pg_restore")


def _restore_sqlite(engine: Engine, copy: Path) -> None:
    target = _sqlite_path(engine.url)
    engine.dispose()  # our pooled connections closed: SQLite checkpoints and drops its -wal
    source = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=30)
    try:
        # Through SQLite itself rather than a file copy: it takes the locks and deals with a
        # journal or -wal of the file being replaced.
        source.backup(destination)
        if destination.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the restored SQLite database does not pass quick_check")
    finally:
        destination.close()
        source.close()
    with contextlib.suppress(OSError):
        target.chmod(0o600)


# --- backup ----------------------------------------------------------------------------------


def _content_types(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Document.storage_key, Document.content_type))
        return {key: content_type for key, content_type in rows}


def _copy_objects(
    store: ObjectStore, folder: Path, content_types: dict[str, str]
) -> tuple[list[dict], set[Path]]:
    entries: list[dict] = []
    folders: set[Path] = {folder}
    folder.mkdir(mode=0o700)
    for stored in store.older_than(_EVERYTHING):
        key = validate_key(stored.key)
        target = folder / key
        if not target.parent.exists():
            target.parent.mkdir(mode=0o700, parents=True)
        folders.update(p for p in target.parents if p.is_relative_to(folder))
        try:
            source = store.open(key)
        except ObjectMissing:
            continue  # deleted since it was listed: an orphan the sweeper took, no row's
        digest, size = hashlib.sha256(), 0
        try:
            with _private_file(target) as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        finally:
            source.close()
        entries.append(
            {
                "key": key,
                "size": size,
                "sha256": digest.hexdigest(),
                "content_type": content_types.get(key, DEFAULT_CONTENT_TYPE),
            }
        )
    entries.sort(key=lambda entry: entry["key"])
    return entries, folders


def seal_fingerprint(instance_path: Path) -> str | None:
    """The SHA-256 of the seal certificate signed PDFs verify against (public, not the key)."""
    cert = Path(instance_path) / "esign" / "seal.crt"
    return _digest(cert)[1] if cert.is_file() else None


def backup(
    dest: Path,
    *,
    engine: Engine,
    store: ObjectStore,
    instance_path: Path,
    pg_bin: str | None = None,
) -> Summary:
    """Write a new backup folder under `dest`; see the module docstring. On any failure the
    half-made folder is removed (a crash leaves one without a manifest, which restore
    refuses)."""
    started = time.monotonic()
    kind = _kind(engine)
    created = clock.now().astimezone(UTC)
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = dest / f"{FOLDER_PREFIX}{created:%Y%m%dT%H%M%SZ}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise BackupError(f"{folder} exists already") from None
    try:
        revision = _revision(engine)
        database_file = folder / DATABASE_FILES[kind]
        if kind == "postgresql":
            _dump_postgresql(engine, database_file, pg_bin)
        else:
            _dump_sqlite(engine, database_file)
        database_bytes, database_sha256 = _digest(database_file)
        objects, folders = _copy_objects(store, folder / OBJECTS, _content_types(engine))
        for written in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(written)  # every entry durable before the manifest says it is there
        _fsync_dir(folder)
        manifest = {
            "format": FORMAT,
            "created_at": created.isoformat(),
            "alembic_revision": revision,
            "database": {
                "kind": kind,
                "file": database_file.name,
                "size": database_bytes,
                "sha256": database_sha256,
            },
            "seal_certificate_sha256": seal_fingerprint(instance_path),
            "objects": objects,
        }
        _write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
    except BaseException as failed:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(failed, StorageUnavailable | OSError):
            raise BackupError(f"{type(failed).__name__}: {failed}") from failed
        raise
    return Summary(
        folder=folder,
        kind=kind,
        revision=revision,
        database_bytes=database_bytes,
        objects=len(objects),
        object_bytes=sum(entry["size"] for entry in objects),
        seconds=time.monotonic() - started,
    )


# --- restore ---------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupRefused([f"{MANIFEST} is missing: this backup did not finish"])
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise BackupRefused([f"{MANIFEST} cannot be read"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused([f"{MANIFEST} is not a {FORMAT} manifest"])
    return manifest


def _check_file(path: Path, size: int, sha256: str, name: str) -> str | None:
    if not path.is_file():
        return f"{name}: missing"
    if path.stat().st_size != size:
        return f"{name}: size differs from the manifest"
    if _digest(path)[1] != sha256:
        return f"{name}: SHA-256 differs from the manifest"
    return None


def verify_backup(folder: Path) -> dict:
    """The manifest, once every file it lists is there with its size and SHA-256; else
    BackupRefused naming each file that is not."""
    manifest = read_manifest(folder)
    problems: list[str] = []
    try:
        database = manifest["database"]
        if DATABASE_FILES.get(database["kind"]) != database["file"]:
            raise ValueError
        problem = _check_file(
            folder / database["file"], database["size"], database["sha256"], database["file"]
        )
        if problem:
            problems.append(problem)
        for entry in manifest["objects"]:
            try:
                key = validate_key(entry["key"])
            except ValueError:
                problems.append("an object with an unacceptable key")
                continue
            problem = _check_file(folder / OBJECTS / key, entry["size"], entry["sha256"], key)
            if problem:
                problems.append(problem)
    except (KeyError, TypeError, ValueError):
        raise BackupRefused([f"{MANIFEST} is incomplete"]) from None
    if problems:
        raise BackupRefused(problems)
    return manifest


def _put_objects(store: ObjectStore, folder: Path, manifest: dict, summary: Summary) -> None:
    problems = []
    for entry in manifest["objects"]:
        key = entry["key"]
        path = folder / OBJECTS / key
        try:
            store.put(
                key,
                path,
                sha256=bytes.fromhex(entry["sha256"]),
                content_type=entry.get("content_type") or DEFAULT_CONTENT_TYPE,
            )
        except ObjectExists:
            if _stored_sha256(store, key) != entry["sha256"]:
                problems.append(f"{key}: the store holds a different object under this key")
                continue
            summary.already_there += 1  # a restore run again after a failure
        except StorageUnavailable as exc:
            problems.append(f"{key}: {exc}")
            continue
        summary.objects += 1
        summary.object_bytes += entry["size"]
    if problems:
        raise BackupError(
            f"{len(problems)} objects could not be stored; the database was not touched", problems
        )


def _stored_sha256(store: ObjectStore, key: str) -> str | None:
    try:
        stream = store.open(key)
    except (ObjectMissing, StorageUnavailable):
        return None
    digest = hashlib.sha256()
    try:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    except StorageUnavailable:
        return None
    finally:
        stream.close()
    return digest.hexdigest()


def restore(
    folder: Path,
    *,
    engine: Engine,
    store: ObjectStore,
    instance_path: Path,
    force: bool = False,
    known_revision: Callable[[str], bool] = lambda revision: True,
    pg_bin: str | None = None,
) -> Summary:
    """Restore a backup into the configured database and document store.

    In this order, so that a failure at any step can be fixed and the restore run again:
    1. every file is checked against the manifest (BackupRefused: nothing was touched);
    2. the target database must have no tables (unless `force`), and the backup's schema
       revision must be one this release knows;
    3. the objects go into the store (each PUT verified by its SHA-256; an identical object
       already there counts as restored, a different one stops the restore), so that every
       row restored next has its object, as in the running portal;
    4. the database: pg_restore --no-owner --no-privileges --exit-on-error
       --single-transaction (all or nothing; it runs as DATABASE_URL's role, which must own
       the schema: the app's limited role cannot create tables), or SQLite's backup API into
       the configured file.
    """
    started = time.monotonic()
    manifest = verify_backup(folder)
    kind = _kind(engine)
    database = manifest["database"]
    if database["kind"] != kind:
        raise BackupError(f"this is a {database['kind']} backup; the target is {kind}")
    revision = manifest["alembic_revision"]
    if not known_revision(revision):
        raise BackupError(
            f"the backup's schema revision {revision} is unknown to this release: "
            "restore with the release that made it"
        )
    engine.dispose()
    tables = inspect(engine).get_table_names()
    if tables and not force:
        raise BackupError(
            f"the target database has {len(tables)} tables already: restore only into an "
            "empty database (or --force)"
        )
    summary = Summary(folder=folder, kind=kind, revision=revision)
    _put_objects(store, folder, manifest, summary)
    dump = folder / database["file"]
    try:
        if kind == "postgresql":
            _restore_postgresql(engine, dump, force, pg_bin)
        else:
            _restore_sqlite(engine, dump)
    except (BackupError, sqlite3.Error) as failed:
        raise BackupError(
            f"{failed}; the database was left as it was (all or nothing) and the objects are "
            "stored: once fixed, run the restore again (identical objects are skipped)"
        ) from failed
    engine.dispose()
    if _revision(engine) != revision:
        raise BackupError("the restored database does not carry the backup's schema revision")
    summary.database_bytes = database["size"]
    summary.seconds = time.monotonic() - started
    expected_seal = manifest.get("seal_certificate_sha256")
    if expected_seal and seal_fingerprint(instance_path) != expected_seal:
        summary.notes.append(
            "the seal certificate here (INSTANCE_PATH/esign/seal.crt) is missing or not the "
            "backed-up deployment's: signed PDFs verify only once it is in place"
        )
    return summary


def describe(summary: Summary) -> str:
    """One line for the operator: counts, bytes, seconds (no names, no secrets)."""
    line = (
        f"database {_size(summary.database_bytes)} ({summary.kind}, revision {summary.revision}),"
        f" {summary.objects} objects ({_size(summary.object_bytes)}),"
        f" {summary.seconds:.1f} s"
    )
    if summary.already_there:
        line += f"; {summary.already_there} objects were in the store already (identical)"
    return line

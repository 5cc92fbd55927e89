"""`flask` commands: demo data, the worker, the development runner, the first administrator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from portal import assets, dbroles
from portal.domain.accounts import factors
from portal.domain.core import context, jobs
from portal.domain.core.session import dbs
from portal.extensions import db
from portal.settings import current as current_settings

DEMO_PASSWORD = "demo harbor lantern river"  # noqa: S105 - demo data only; refused in production


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(demo_code)
    app.cli.add_command(worker)
    app.cli.add_command(dev)
    app.cli.add_command(create_system_admin)
    app.cli.add_command(import_hmis)
    app.cli.add_command(esign_certificate)
    app.cli.add_command(esign_verify)
    app.cli.add_command(import_directory)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(check_documents)
    app.cli.add_command(retention_command)
    app.cli.add_command(export_hmis)
    app.cli.add_command(dbroles.grant_app_role)
    app.cli.add_command(assets.collect_static)


@click.command("esign-verify")
@click.argument("code")
@with_appcontext
def esign_verify(code: str) -> None:
    """Check a signature by its verification code: the document and disclosure hashes, the
    stored PDF's hash and its digital signature. Exits 1 and says what does not match."""
    from portal.domain import esign

    signature = esign.by_code(code)
    if signature is None:
        raise click.ClickException("No signature has this verification code.")
    problems = esign.verify(signature)
    click.echo(f"signature {signature.public_id} signed {signature.signed_at.isoformat()}")
    if problems:
        for problem in problems:
            click.echo(f"  does not match: {problem}")
        raise SystemExit(1)
    click.echo("  everything matches")


@click.command("esign-certificate")
@click.option("--folder", type=click.Path(), default=None, help="Where to write seal.key/.crt")
@click.option("--name", default="HMIS portal seal (local)", help="The certificate's name")
@with_appcontext
def esign_certificate(folder: str | None, name: str) -> None:
    """Make a self-signed signing certificate for sealing signed PDFs (local use; production
    brings a certificate from its own authority)."""
    from pathlib import Path

    from portal.integrations import pdf

    target = Path(folder) if folder else Path(current_app.instance_path) / "esign"
    if (target / "seal.key").exists():
        raise click.ClickException(f"{target / 'seal.key'} exists already; it is never replaced.")
    signer = pdf.make_local_certificate(target, common_name=name)
    click.echo(f"key:         {signer.key_path}\ncertificate: {signer.cert_path}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Create demo agencies and sign-ins (refuses to run in production)."""
    from portal.domain import demo_data

    if current_settings().is_production:
        raise click.ClickException("Demo data is never created in production.")
    upgrade()
    created = demo_data.create(DEMO_PASSWORD)
    dbs().commit()
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD!r}):")
    for line in created:
        click.echo(f"  {line}")
    click.echo(
        "Staff also type a code from an authenticator app. Every demo staff member's app has the"
        f" key {factors.DEMO_TOTP_KEY} (add it to any authenticator app), or run"
        " `make demo-code` for the code now."
    )


@click.command("demo-code")
@with_appcontext
def demo_code() -> None:
    """The code an authenticator app with the demo staff's key shows now (not in production)."""
    if current_settings().is_production:
        raise click.ClickException("There is no demo key in production.")
    click.echo(factors.demo_code())


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Run what is due, then exit.")
@click.option("--max-jobs", default=0, help="Stop after this many jobs (0: no limit).")
def worker(burst: bool, max_jobs: int) -> None:
    """Run background jobs (outbox mail, sweepers, reminders). A database that is locked, gone
    or restarting does not stop it: it logs, waits (doubling up to a minute) and goes on."""
    name = jobs.worker_name()
    context.set_context(context.ActionContext(request_id=f"worker-{os.getpid()}"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"worker {name} started", err=True)
    ran = jobs.work(
        name,
        stop=stop,
        burst=burst,
        max_jobs=max_jobs,
        poll=current_settings().worker_poll_seconds,
        end_each=db.session.remove,  # a fresh session per job: nothing stale between runs
    )
    click.echo(f"worker {name} stopped after {ran} jobs", err=True)


@click.command("dev")
@with_appcontext
@click.option("--port", default=5000)
def dev(port: int) -> None:
    """Development: migrate, then serve on 127.0.0.1 with a worker process beside it."""
    if current_settings().is_production:
        raise click.ClickException(
            "Use a WSGI server (gunicorn wsgi:app) and `flask worker` in production."
        )
    upgrade()
    env = {**os.environ, "FLASK_APP": "wsgi"}
    worker_proc = subprocess.Popen([sys.executable, "-m", "flask", "worker"], env=env)
    try:
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)
    finally:
        worker_proc.terminate()
        worker_proc.wait(timeout=10)


@click.command("create-system-admin")
@with_appcontext
@click.option("--email", required=True)
@click.option("--name", required=True)
def create_system_admin(email: str, name: str) -> None:
    """Create a system administrator; they get an email link to choose a password."""
    from portal.domain.accounts.staff import create_staff_account
    from portal.domain.core.roles import Role

    context.set_context(context.ActionContext(request_id="cli"))
    create_staff_account(agency=None, email=email, display_name=name, role=Role.SYSTEM_ADMIN)
    dbs().commit()
    click.echo("Created. A set-password link is in the outbox; run `flask worker` to send it.")


@click.command("import-hmis")
@click.argument("source", type=click.Path(exists=True))
@click.option("--agency", "agency_name", required=True, help="The agency that owns new clients.")
@with_appcontext
def import_hmis(source: str, agency_name: str) -> None:
    """Import a HUD HMIS CSV export (a folder or a .zip) for an agency; all or nothing. The
    run is recorded either way (the import page lists it)."""
    from pathlib import Path

    from portal.domain.accounts.agencies import agency_by_name
    from portal.domain.hmis import importer as hmis_import
    from portal.domain.hmis import runs

    context.set_context(context.ActionContext(request_id="cli"))
    agency = agency_by_name(agency_name)
    if agency is None:
        raise click.ClickException(f"No agency is called {agency_name!r}.")
    sha256 = runs.sha256_of(Path(source))
    report = hmis_import.import_export(Path(source), agency=agency)
    for name, file in report.files.items():
        click.echo(
            f"{name:20} new {file.imported:5}  updated {file.updated:5}"
            f"  unchanged {file.unchanged:5}  skipped {len(file.skipped):4}"
            f"  problems {len(file.errors):4}"
        )
        for row, column, reason in file.errors[:50]:
            click.echo(f"  row {row}: {column}: {reason}")
    if report.ignored_files:
        click.echo("ignored: " + ", ".join(report.ignored_files))
    if not report.ok:
        db.session.rollback()
    runs.record_run(agency, "command", Path(source).name, sha256, report)
    db.session.commit()
    if not report.ok:
        about = f" ({report.fatal_file})" if report.fatal_file else ""
        raise click.ClickException(
            f"Nothing was imported: {report.fatal or 'row problems above'}{about}."
        )
    click.echo("Imported.")


@click.command("import-directory")
@click.argument("source", type=click.Path(exists=True))
@click.option("--agency", "agency_name", required=True, help="The agency whose directory it is.")
@click.option(
    "--kind",
    type=click.Choice(["service", "organization", "location", "service_at_location"]),
    default=None,
    help="What a JSON file holds, when it cannot be told from its fields.",
)
@with_appcontext
def import_directory(source: str, agency_name: str, kind: str | None) -> None:
    """Import Open Referral HSDS into an agency's resource directory: an HSDS 3 CSV
    datapackage (a folder or a .zip), an HSDS 3 JSON file, or a legacy HSDS 1.1 feed.
    Upserts by id; a report says what was imported, skipped and why."""
    from pathlib import Path

    from portal.domain.accounts.agencies import agency_by_name
    from portal.domain.directory import importer as directory_import

    context.set_context(context.ActionContext(request_id="cli"))
    agency = agency_by_name(agency_name)
    if agency is None:
        raise click.ClickException(f"No agency is called {agency_name!r}.")
    try:
        tables = directory_import.read_source(Path(source), kind)
        directory = directory_import.directory_for(agency)
        report = directory_import.import_tables(directory, tables)
    except directory_import.ImportRefused as refused:
        db.session.rollback()
        raise click.ClickException(f"Nothing was imported: {refused}.") from None
    db.session.commit()
    for line in report.lines():
        click.echo(line)
    click.echo("Imported." + (" (HSDS 1.1 feed)" if report.legacy else ""))


_PG_BIN_HELP = "Folder of pg_dump/pg_restore (default: the server's version, else PATH)."


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--pg-bin", default=None, help=_PG_BIN_HELP)
@with_appcontext
def backup(dest: str, pg_bin: str | None) -> None:
    """Back up the database and the document store into a new folder
    DEST/portal-backup-<UTC timestamp>/ (R70): the database (pg_dump --format=custom, or
    SQLite's online backup API), objects/<key> for every stored object, and manifest.json
    (sizes and SHA-256s) written last, atomically: a folder without it did not finish.

    Consistent while the portal runs: the database is dumped first (a snapshot), and objects
    are write-once and stored before their row commits, so every object a dumped row points
    to exists when the copy starts. Objects stored after the dump are copied too; after a
    restore no row points at them and the orphan sweeper removes them."""
    from pathlib import Path

    from portal import backups
    from portal.domain.core import audit
    from portal.integrations.storage import get_store

    context.set_context(context.ActionContext(request_id="cli-backup"))
    try:
        summary = backups.backup(
            Path(dest),
            engine=db.engine,
            store=get_store(),
            instance_path=current_settings().instance_path,
            pg_bin=pg_bin,
        )
    except backups.BackupError as failed:
        raise click.ClickException(f"No backup was made: {failed}") from None
    details = {"objects": summary.objects, "bytes": summary.object_bytes}
    audit.record("backup.made", ("backup", summary.folder.name), details=details)
    dbs().commit()
    click.echo(f"backup written: {summary.folder}")
    click.echo(f"  {backups.describe(summary)}")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Restore over a database that has tables.")
@click.option("--pg-bin", default=None, help=_PG_BIN_HELP)
@with_appcontext
def restore(src: str, force: bool, pg_bin: str | None) -> None:
    """Restore a backup folder into the configured database and document store. Every file
    is checked against the manifest first: a damaged or unfinished backup is refused and
    nothing is touched. The database must have no tables yet (or --force). On PostgreSQL
    this runs pg_restore as DATABASE_URL's role, which must own the schema: run it with the
    owner's URL, not the app's limited role, and `flask grant-app-role ROLE` afterwards
    (grants are not restored). Stop the portal and the worker first."""
    from pathlib import Path

    from portal import backups, readiness
    from portal.domain.core import audit
    from portal.integrations.storage import get_store

    context.set_context(context.ActionContext(request_id="cli-restore"))
    try:
        summary = backups.restore(
            Path(src),
            engine=db.engine,
            store=get_store(),
            instance_path=current_settings().instance_path,
            force=force,
            known_revision=readiness.known_revision,
            pg_bin=pg_bin,
        )
    except backups.BackupError as failed:
        for problem in failed.problems[:100]:
            click.echo(f"  {problem}", err=True)
        if isinstance(failed, backups.BackupRefused):
            raise click.ClickException(f"Nothing was restored: {failed}") from None
        raise click.ClickException(f"Not restored: {failed}") from None
    db.session.remove()
    details = {"backup": summary.folder.name, "objects": summary.objects}
    audit.record("backup.restored", ("backup", summary.folder.name), details=details)
    dbs().commit()
    click.echo(f"restored: {backups.describe(summary)}")
    for note in summary.notes:
        click.echo(f"  note: {note}")
    if summary.revision not in readiness.expected_revisions():
        click.echo("  the schema is older than this release's: run `flask db upgrade` next")
    if summary.kind == "postgresql":
        click.echo("  grants are not restored: run `flask grant-app-role ROLE` as the owner")
    click.echo("  next: `flask check-documents`")


@click.command("check-documents")
@with_appcontext
def check_documents() -> None:
    """Check that every stored file a row points to (documents, signed PDFs, revocations) is
    in the document store with the SHA-256 on record, and that every sealed PDF still
    verifies. Prints counts; exits 1 listing what does not match (by public id and key)."""
    import time

    from portal.domain.documents import stored_files

    started = time.monotonic()
    report = stored_files.check()
    click.echo(
        f"documents   {report.documents} checked ({report.bytes / 1_000_000:.1f} MB)"
        + (f", {report.known_lost} already marked lost" if report.known_lost else "")
    )
    click.echo(f"signatures  {report.signatures} checked")
    click.echo(f"revocations {report.revocations} checked")
    click.echo(f"in {time.monotonic() - started:.1f} s")
    if not report.ok:
        click.echo(f"{len(report.problems)} do not match:")
        for problem in report.problems:
            click.echo(f"  {problem}")
        raise SystemExit(1)
    click.echo("everything matches")


RETENTION_LINES = (
    ("deleted_records", "deleted client records past their purge date"),
    ("inactive_clients", "clients gone for RETENTION_INACTIVE_YEARS (the portal's data of them)"),
    ("closed_accounts", "accounts closed for RETENTION_CLOSED_ACCOUNT_YEARS (sign-in data)"),
    ("sent_mail", "sent email older than RETENTION_SENT_MAIL_DAYS"),
    ("location_history", "where-to-find-me older than LOCATION_HISTORY_DAYS"),
)


@click.command("retention")
@click.option("--purge", is_flag=True, help="Remove what is due (without it: a dry run).")
@click.option("--confirm", is_flag=True, help="Purge even a kind the checks held for an operator.")
@with_appcontext
def retention_command(purge: bool, confirm: bool) -> None:
    """What the retention schedule removes now (README, "Retention"): counts per kind, never
    values. A dry run unless --purge; the daily job purges by itself."""
    from portal.domain import retention

    context.set_context(context.ActionContext(request_id="cli-retention"))
    report = retention.purge(confirm=confirm) if purge else retention.plan()
    dbs().commit()
    done = "removed" if purge and not report.dry_run else "due (dry run: nothing removed)"
    click.echo(f"retention: {done}")
    for kind, words in RETENTION_LINES:
        click.echo(f"  {report.found[kind]:>6}  {words}")
    if report.rows:
        rows = ", ".join(f"{n} {table}" for table, n in sorted(report.rows.items()))
        click.echo(f"  rows: {rows}")
        click.echo(f"  stored files: {report.stored_files}")
    if report.held:
        click.echo(
            "held for an operator (too many due at once, or the clock looks wrong; nothing of it "
            "removed): "
            + ", ".join(report.held)
            + "; check the schedule, then run `flask retention --purge --confirm`"
        )
        raise SystemExit(2)


@click.command("export-hmis")
@click.option("--agency", "agency_name", required=True, help="The agency whose clients it holds.")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the zip."
)
@with_appcontext
def export_hmis(agency_name: str, out: str) -> None:
    """Make a HUD CSV delta export of what is waiting for the HMIS and write it as a zip (it
    holds personal data: the file is made readable by its owner only)."""
    import os
    from pathlib import Path

    from portal.domain.accounts.agencies import agency_by_name
    from portal.domain.core.errors import DomainError
    from portal.domain.hmis import export as hmis_export

    context.set_context(context.ActionContext(request_id="cli"))
    agency = agency_by_name(agency_name)
    if agency is None:
        raise click.ClickException(f"No agency is called {agency_name!r}.")
    target = Path(out)
    if target.exists():
        raise click.ClickException(f"{out} exists already: name a new file.")
    try:
        made = hmis_export.make_export(agency, None, through="command")
    except DomainError as refusal:
        raise click.ClickException(str(refusal)) from None
    content = hmis_export.content_of(made, None, through="command")
    db.session.commit()  # first: the changes are this export's, whatever happens to the file
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
    except OSError as exc:
        raise click.ClickException(
            f"Export {made.sequence} is made, but {out} could not be written "
            f"({type(exc).__name__}): download it from HMIS exports in the staff bridge."
        ) from None
    counts = made.counts
    click.echo(f"Export {made.sequence} ({made.hud_export_id}): {counts['entries']} changes.")
    for name, rows in counts["rows"].items():
        click.echo(f"  {name:28} {rows:6} rows")
    for reason, number in counts["not_exportable"].items():
        if number:
            click.echo(f"  not exportable yet, {reason}: {number}")

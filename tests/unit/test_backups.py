"""R70: how `flask backup` and `flask restore` reach PostgreSQL's tools."""

from sqlalchemy.engine import make_url

from portal.backups import libpq_connection


def test_the_database_url_becomes_a_libpq_string_with_the_password_only_in_the_environment():
    conninfo, env = libpq_connection(
        make_url("postgresql+psycopg://app:s3cr%27t@db.internal:6432/portal?sslmode=require")
    )
    assert conninfo == "host='db.internal' port='6432' dbname='portal' user='app' sslmode='require'"
    assert env == {"PGPASSWORD": "s3cr't"} and "s3cr" not in conninfo


def test_a_socket_folder_and_no_password_need_no_environment():
    conninfo, env = libpq_connection(
        make_url("postgresql+psycopg://portal@/portal?host=/run/postgresql")
    )
    assert conninfo == "host='/run/postgresql' dbname='portal' user='portal'"
    assert env == {}

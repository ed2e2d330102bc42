"""A daemon on PostgreSQL says which database it uses, never the
password it was given."""

from psycopg.conninfo import conninfo_to_dict

from tests.acceptance.daemon import Daemon


def test_the_startup_log_names_the_database_without_its_password(
        postgresqlDsn, tmp_path):
    """--store with a password in the URL: the log names user, host,
    port and database, and the password appears nowhere in it."""
    params = conninfo_to_dict(postgresqlDsn)
    shown = (f"postgresql://{params['user']}@{params['host']}:"
             f"{params.get('port', 5432)}/{params['dbname']}")
    store = shown.replace('@', ':n0t-4-s3cret@', 1)
    daemon = Daemon(str(tmp_path), store=store).start()
    try:
        server = daemon.proxy()
        assert server.wait(server.add('echo', 1), 30) == 'completed'
        log = daemon.log()
    finally:
        daemon.kill()
    assert f'remotetask store: PostgreSQL {shown}\n' in log
    assert 'n0t-4-s3cret' not in log

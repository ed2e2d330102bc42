"""A daemon on PostgreSQL: it says which database it uses, never the
password it was given, and how its parts are put together there."""

import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from remotetask.server.daemon.options import Options
from remotetask.server.daemon.tap import makeService
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


def test_clients_write_beside_the_pipeline_on_a_shared_store(postgresqlDsn):
    """On PostgreSQL the clients' adds, cancels and starts go through a
    writer of their own (an add never waits behind the pipeline's batch),
    woken by NOTIFY rather than in the add's turn; the JSON view writes
    and wakes as the XML-RPC face does. It stops after the web and
    before the dispatcher."""
    params = conninfo_to_dict(postgresqlDsn)
    options = Options()
    options.parseOptions([
        f"--store=postgresql://{params['user']}@{params['host']}:"
        f"{params.get('port', 5432)}/{params['dbname']}",
        '--examples', '--workers=1', '--listen=tcp:0:interface=127.0.0.1'])
    top = makeService(options)
    try:
        names = [service.name for service in top]
        assert names.index('dispatcher') < names.index('client-writer') \
            < names.index('web')
        clients = top.getServiceNamed('client-writer')
        site = top.getServiceNamed('web').site
        root = getattr(site, 'wrappedFactory', site).resource
        resource = root.xmlrpc.wrapped
        api = root.children[b'api']
        assert resource.writeCall == clients.call == api.writeCall
        assert top.getServiceNamed('store-writer') is not clients
    finally:
        top.getServiceNamed('web').listening.port.stopListening()
        top.getServiceNamed('store').store.close()


@pytest.fixture
def roleWithoutRights(postgresqlServer, emptyPostgresqlDsn):
    """A login role that does not own the (empty) test database and may
    not create in its public schema (PostgreSQL 15's default, made so on
    any version): its name, the database's, and its URL."""
    admin = postgresqlServer.admin
    role = f'rt_role_{uuid.uuid4().hex[:12]}'
    dbname = conninfo_to_dict(emptyPostgresqlDsn)['dbname']
    admin.execute(sql.SQL('CREATE ROLE {} LOGIN').format(
        sql.Identifier(role)))
    with psycopg.connect(emptyPostgresqlDsn, autocommit=True) as owner:
        owner.execute('REVOKE CREATE ON SCHEMA public FROM PUBLIC')
    params = conninfo_to_dict(emptyPostgresqlDsn)
    url = (f"postgresql://{role}@{params['host']}:"
           f"{params.get('port', 5432)}/{dbname}")
    try:
        yield role, dbname, url
    finally:
        # Its grants go with the database; then the role owns nothing.
        postgresqlServer.dropDatabase(dbname)
        admin.execute(sql.SQL('DROP ROLE IF EXISTS {}').format(
            sql.Identifier(role)))


def test_a_role_without_rights_is_told_what_to_grant(roleWithoutRights,
                                                     emptyPostgresqlDsn,
                                                     tmp_path):
    """A role that may not create in the public schema stops the server
    with one line naming the refused privilege and both fixes (own the
    database, or GRANT CREATE), not raw SQL; the GRANT it names lets the
    server start."""
    role, dbname, dsn = roleWithoutRights
    daemon = Daemon(str(tmp_path), store=dsn)
    done = daemon.refused()
    assert done.returncode == 1, done
    lines = [line for line in (done.stdout + done.stderr).splitlines()
             if line.strip()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert 'Traceback' not in line and 'LINE 3' not in line
    assert 'permission denied for schema public' in line
    assert f'CREATE DATABASE {dbname} OWNER {role}' in line
    assert f'GRANT CREATE ON SCHEMA public TO {role}' in line
    with psycopg.connect(emptyPostgresqlDsn, autocommit=True) as owner:
        owner.execute(f'GRANT CREATE ON SCHEMA public TO {role}')
    daemon.start()
    try:
        server = daemon.proxy()
        assert server.wait(server.add('echo', 1), 30) == 'completed'
    finally:
        daemon.kill()

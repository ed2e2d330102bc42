"""Issue 22 against the real daemon: the roles file (a bad line stops the
server, naming it; a change is read without a restart), jobs added
before owners were recorded, and a server without --users unchanged."""

import xmlrpc.client

import pytest

from tests.acceptance.daemon import NO_SUCH_JOB, NOT_PERMITTED, Daemon, fault
from tests.acceptance.permissions import (
    USERS, allowedWithin, proxy, refusedWithin, writeFiles)


@pytest.mark.parametrize('line, words', [
    ('shop  owner  echo', "line 3: 'owner' is not a role"),
    ('shop  caller', "line 3: the caller 'shop' needs the tasks"),
    ('monitor  viewer  echo', 'line 3: only a caller names tasks'),
    ('admin  viewer', "line 3: 'admin' is named twice"),
    ('justaname', 'line 3: write "USER ROLE [TASKS]"'),
])
def test_a_bad_line_stops_the_server_naming_it(tmp_path, line, words):
    """The server does not start and says which line of which file is
    wrong, and how."""
    users, roles = writeFiles(tmp_path, roles=(
        '# roles\nadmin admin\n' + line + '\n'))
    ran = Daemon(str(tmp_path), args=[
        f'--users={users}', f'--roles={roles}']).refused()
    assert ran.returncode != 0
    assert f'--roles: {roles}, {words}' in ran.stdout + ran.stderr


def test_roles_need_users(tmp_path):
    """--roles without --users is refused at start."""
    _, roles = writeFiles(tmp_path)
    ran = Daemon(str(tmp_path), args=[f'--roles={roles}']).refused()
    assert ran.returncode != 0
    assert '--roles needs --users' in ran.stdout + ran.stderr


def test_a_changed_roles_file_is_read_without_a_restart(startDaemon,
                                                        tmp_path):
    """Giving reports the task sleep in the file lets its adds of sleep
    through within a second; a user the file no longer names may then
    add nothing, and still reads its own jobs."""
    users, roles = writeFiles(tmp_path)
    daemon = startDaemon('--workers=1', f'--users={users}',
                         f'--roles={roles}', '--login-delay=0')
    reports = proxy(daemon, 'reports')
    assert fault(reports.add, 'sleep', 1, True).faultCode == NOT_PERMITTED
    roles.write_text(roles.read_text().replace(
        'reports   caller   echo', 'reports   caller   echo, sleep\n'
        '# reports may sleep now'))
    jobid = allowedWithin(reports.add, 1.0, 'sleep', 1, True)
    assert reports.getJob(jobid)['owner'] == 'reports'
    roles.write_text('admin admin\n')

    def refused():
        try:
            reports.add('echo', 1, True)
        except xmlrpc.client.Fault as refusal:
            return refusal.faultString == (
                "not allowed: adding a job of the task 'echo', for reports")
        return False
    assert refusedWithin(refused, 1.0) is not None
    assert reports.getJob(jobid)['owner'] == 'reports'


def test_jobs_added_before_belong_to_no_one(startDaemon, tmp_path):
    """A job added on an open server has no owner: after a restart with
    --users, callers cannot see it, the admin and the viewer can."""
    daemon = startDaemon('--workers=1')
    old = daemon.proxy().add('echo', 'old', True)
    assert 'owner' not in daemon.proxy().getJob(old)
    daemon.kill()
    users, roles = writeFiles(tmp_path)
    daemon.args += [f'--users={users}', f'--roles={roles}',
                    '--login-delay=0']
    daemon.start()
    assert fault(proxy(daemon, 'shop').getJob, old).faultCode == NO_SUCH_JOB
    assert proxy(daemon, 'shop').getJobs()['jobs'] == []
    for reader in ('admin', 'monitor'):
        job = proxy(daemon, reader).getJob(old)
        assert job['input'] == 'old' and 'owner' not in job


def test_without_roles_every_user_is_an_admin(startDaemon, tmp_path):
    """With --users and no --roles, a user adds any task, cleans, adds
    cron jobs, and sees another user's jobs, as before; its jobs record
    it as their owner."""
    users, _ = writeFiles(tmp_path)
    daemon = startDaemon('--workers=1', f'--users={users}',
                         '--login-delay=0')
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    jobid = shop.add('sleep', 1, True)
    assert reports.getJob(jobid)['owner'] == 'shop'
    assert reports.cancel(jobid) is True
    cron = reports.addCronJob('echo', 1, dict(minute=[1]))
    assert reports.cancel(cron) is True
    assert reports.clean() >= 1
    assert set(USERS) == {'admin', 'shop', 'reports', 'monitor'}

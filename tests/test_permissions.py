"""Who may do what (``remotetask.core.permissions``) and the roles file
(``remotetask.wire.rules``): the decisions, and a caller's view of the
service, on a real service over a store in memory."""

import os

import pytest

from remotetask.core.permissions import (
    CallerView, Principal, checkAdd, checkAdmin, checkChange, mayAddTasks,
    scoped, whoIs)
from remotetask import TaskService
from remotetask.errors import NoSuchJob, NotPermitted
from remotetask.wire.rules import RolesFile, readRoles

ADMIN = Principal('alice', 'admin')
SHOP = Principal('shop', 'caller', ['convert', 'thumbs'])
ANY = Principal('reports', 'caller', ['*'])
VIEWER = Principal('monitor', 'viewer')


def test_who_may_add_what():
    """An admin and an open server add anything; a caller its tasks (or
    any, with *); a viewer nothing; a refusal names what and who."""
    for principal in (None, ADMIN, ANY):
        checkAdd(principal, 'anything')
    checkAdd(SHOP, 'thumbs')
    with pytest.raises(NotPermitted) as refused:
        checkAdd(SHOP, 'mail')
    assert str(refused.value) == (
        "not allowed: adding a job of the task 'mail', for shop")
    assert refused.value.faultCode == 13
    with pytest.raises(NotPermitted):
        checkAdd(VIEWER, 'convert')
    assert mayAddTasks(SHOP, ['convert', 'mail', 'thumbs']) == [
        'convert', 'thumbs']
    assert mayAddTasks(VIEWER, ['convert']) == ['convert']


def test_changes_and_admin_actions():
    """A viewer changes no job; only an admin (or an open server) does
    what only an admin may."""
    checkChange(SHOP, 'cancelling job 1')
    with pytest.raises(NotPermitted, match='cancelling job 1, for monitor'):
        checkChange(VIEWER, 'cancelling job 1')
    checkAdmin(None, 'cleaning')
    checkAdmin(ADMIN, 'cleaning')
    for principal in (SHOP, VIEWER):
        with pytest.raises(NotPermitted):
            checkAdmin(principal, 'cleaning')


def test_a_caller_sees_its_own_jobs_alone():
    """Through its view, another's job and a job of no one raise the very
    NoSuchJob an unknown id does; listings hold its jobs alone; those who
    see everything get the reads themselves."""
    service = TaskService()
    service.registry.register('echo', lambda service, jobid, input: input)
    mine = service.add('echo', 1, True, owner='shop')
    theirs = service.add('echo', 2, True, owner='reports')
    nobodys = service.add('echo', 3, True)
    view = scoped(service.reads, SHOP)
    assert isinstance(view, CallerView)
    assert view.getRow(mine)['addedby'] == 'shop'
    assert str(view.getStatus(mine)) == 'start later'
    for jobid in (theirs, nobodys, 99):
        with pytest.raises(NoSuchJob) as refused:
            view.getRow(jobid)
        assert str(refused.value) == str(NoSuchJob.withId(jobid))
    assert [row['id'] for row in view.findRows()] == [mine]
    assert [row['id'] for row in view.newest()[0]] == [mine]
    with pytest.raises(AttributeError):
        view.cancelJob
    for principal in (None, ADMIN, VIEWER):
        assert scoped(service.reads, principal) is service.reads


def test_who_is_says_why_buttons_are_off():
    """/api/me: a viewer's buttons are off, with the reason."""
    assert whoIs(VIEWER)['mayChange'] is False
    assert 'monitor is a viewer' in whoIs(VIEWER)['why']
    assert whoIs(SHOP) == dict(user='shop', role='caller',
                               tasks=['convert', 'thumbs'], mayAdd=True,
                               mayChange=True, why=None)
    assert whoIs(None)['mayAdd'] is True


def test_the_roles_file_reads_comments_and_tasks(tmp_path):
    """Blank lines and # comments are skipped, task lists are split on
    commas; a user the file does not name is a caller without tasks."""
    path = tmp_path / 'roles'
    path.write_text('# who\n\nalice admin   # the operator\n'
                    'shop caller convert, thumbs\nmonitor viewer\n')
    assert readRoles(str(path)) == {
        'alice': ADMIN, 'shop': SHOP, 'monitor': VIEWER}
    roles = RolesFile(str(path))
    assert roles.principal('shop') == SHOP
    assert roles.principal('stranger') == Principal('stranger', 'caller')
    assert not roles.principal('stranger').mayAdd('convert')


def test_a_changed_file_is_read_again_and_a_bad_one_keeps_the_last(
        tmp_path):
    """A change is read at the next look; a change that breaks the file
    keeps the last good reading."""
    path = tmp_path / 'roles'
    path.write_text('shop caller convert\n')
    roles = RolesFile(str(path))
    path.write_text('shop caller convert, thumbs\n')
    assert roles.principal('shop') == SHOP
    path.write_text('shop caller thumbs\nshop viewer\n')
    os.utime(path, ns=(1, 1))
    assert roles.principal('shop') == SHOP

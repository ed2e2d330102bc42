"""One job, seen from its caller, with the real daemon: its progress
while it runs, the call telling the caller it ended, and its history."""

import signal
import xmlrpc.client

import pytest

from tests.acceptance.daemon import waitUntil
from tests.acceptance.receiver import Receiver


@pytest.fixture
def receiver():
    """A caller's XML-RPC server, down until the test brings it up."""
    receiver = Receiver()
    yield receiver
    receiver.close()


def events(server, jobid, name=None):
    found = server.getJob(jobid).get('events', [])
    return [event for event in found if name in (None, event['event'])]


@pytest.mark.parametrize('pool', ['process', 'thread'])
def test_progress_is_visible_while_the_job_runs_and_after(
        startDaemon, tmp_path, pool):
    """A task's reportProgress(0.5, 'half') shows in getJob while the job
    runs, wherever it runs; its last report stays after the end."""
    server = startDaemon('--workers=1', f'--pool={pool}').proxy()
    release = tmp_path / 'release'
    jobid = server.add('progressing', {'release': str(release)})
    waitUntil(lambda: 'progress' in server.getJob(jobid),
              message='progress while running')
    job = server.getJob(jobid)
    assert job['status'] == 'processing'
    assert (job['progress']['fraction'], job['progress']['message']) == (
        0.5, 'half')
    assert job['progress']['at'].endswith('+00:00')
    release.touch()
    assert server.wait(jobid, 30) == 'completed'
    progress = server.getJob(jobid)['progress']
    assert (progress['fraction'], progress['message']) == (1.0, 'done')


def test_a_job_retried_once_reads_added_started_retried_started_ended(
        daemon, server, tmp_path):
    """The events of a job whose first attempt failed and was retried
    read added, started, retried, started, ended, each naming the server
    and its time; the attempts are numbered."""
    jobid = server.add('failsOnce', {'marker': str(tmp_path / 'marker')})
    assert server.wait(jobid, 30) == 'completed'
    found = events(server, jobid)
    assert [event['event'] for event in found] == [
        'added', 'started', 'retried', 'started', 'ended']
    assert [event.get('attempt') for event in found] == [None, 1, 1, 2, 2]
    assert found[2]['why'] == 'the first attempt fails'
    assert all(event['server'] and event['at'] for event in found)


def test_a_notify_url_outside_notify_allow_is_refused(startDaemon,
                                                      tmp_path):
    """Without --notify-allow every notify URL is refused with fault 3
    naming the option; with it, only URLs under its prefixes are taken."""
    server = startDaemon('--workers=1').proxy()
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.add('echo', 1, {'notify': 'http://127.0.0.1:9/'})
    assert refused.value.faultCode == 3
    assert '--notify-allow' in refused.value.faultString
    (tmp_path / 'allowing').mkdir()
    server = startDaemon(
        '--workers=1', '--notify-allow=http://127.0.0.1:9/hooks/',
        directory=tmp_path / 'allowing').proxy()
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.add('echo', 1, {'notify': 'http://127.0.0.1:9/elsewhere'})
    assert refused.value.faultCode == 3
    assert server.wait(server.add('echo', 1, {
        'notify': 'http://127.0.0.1:9/hooks/done'}), 30) == 'completed'


def notified(server, jobid):
    return bool(events(server, jobid, 'notified'))


def test_a_caller_that_was_down_is_told_once_when_it_comes_up(
        startDaemon, receiver):
    """While the caller's server refuses connections the call fails and
    is tried again (each attempt an event); once it is up it gets
    exactly one jobEnded(id, 'completed')."""
    server = startDaemon('--workers=1',
                         f'--notify-allow={receiver.url}').proxy()
    jobid = server.add('echo', 1, {'notify': receiver.url})
    waitUntil(lambda: len(events(server, jobid, 'notify failed')) >= 2,
              message='two failed attempts')
    receiver.up()
    waitUntil(lambda: notified(server, jobid), message='the call made')
    assert receiver.calls == [(jobid, 'completed')]
    failed = events(server, jobid, 'notify failed')
    assert failed[0]['why'] == 'the connection was refused'
    assert events(server, jobid, 'notified')[0]['attempt'] == len(
        failed) + 1


def test_a_call_owed_when_the_server_stops_is_made_after_its_restart(
        startDaemon, receiver):
    """A call that failed before the server stopped is made by the next
    start, once the caller is up: exactly one jobEnded."""
    daemon = startDaemon('--workers=1', f'--notify-allow={receiver.url}')
    server = daemon.proxy()
    jobid = server.add('echo', 1, {'notify': receiver.url})
    waitUntil(lambda: events(server, jobid, 'notify failed'),
              message='a failed attempt')
    daemon.kill(signal.SIGTERM)
    assert 'Server Shut Down.' in daemon.log()
    receiver.up()
    server = daemon.start().proxy()
    waitUntil(lambda: notified(server, jobid), message='the call made')
    assert receiver.calls == [(jobid, 'completed')]
    servers = {event['server'] for event in events(server, jobid)
               if event['event'].startswith('notif')}
    assert len(servers) == 2


def test_a_cancelled_job_tells_its_caller_too(startDaemon, receiver):
    """Cancelling a job with notify (here one waiting for the busy
    worker) calls jobEnded(id, 'cancelled') once."""
    receiver.up()
    server = startDaemon('--workers=1',
                         f'--notify-allow={receiver.url}').proxy()
    busy = server.add('sleep', 30)
    waitUntil(lambda: server.getJob(busy).get('started'),
              message='the worker busy')
    jobid = server.add('echo', 1, {'notify': receiver.url})
    assert server.cancel(jobid)
    waitUntil(lambda: notified(server, jobid), message='the end told')
    assert receiver.calls == [(jobid, 'cancelled')]


def test_a_job_put_back_at_shutdown_says_so_in_its_events(startDaemon,
                                                          tmp_path):
    """A job still running when SIGTERM's grace ends is put back; its
    events record that the server stopped, and the next start runs it
    again (issue 11: the put-back recorded as what it was)."""
    daemon = startDaemon('--workers=1', '--grace=0.5')
    server = daemon.proxy()
    jobid = server.add('progressing', {'release': str(tmp_path / 'go')})
    waitUntil(lambda: 'progress' in server.getJob(jobid),
              message='the job running')
    daemon.kill(signal.SIGTERM)
    (tmp_path / 'go').touch()
    server = daemon.start().proxy()
    assert server.wait(jobid, 30) == 'completed'
    found = events(server, jobid)
    assert [event['event'] for event in found] == [
        'added', 'started', 'put back', 'started', 'ended']
    assert found[2]['why'] == 'the server stopped'
    assert [found[1]['attempt'], found[3]['attempt']] == [1, 1]

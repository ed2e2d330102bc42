"""``remotetask wait`` and ``add --wait`` against the real daemon: the
progress line, the result, and Ctrl-C leaving the job running."""

import signal

from tests.acceptance.daemon import startCli, waitUntil


def test_wait_draws_the_progress_then_prints_the_result(
        daemon, server, tmp_path):
    """wait ID shows the job's status and progress (bar, percentage,
    message) while it runs and prints its result once it completed."""
    release = tmp_path / 'release'
    jobid = server.add('progressing', {'release': str(release)})
    waitUntil(lambda: 'progress' in server.getJob(jobid))
    waiting = startCli(daemon, 'wait', str(jobid))
    line = waiting.stderr.readline()
    assert 'processing' in line and '50%  half' in line
    release.touch()
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0
    assert out.strip() == '"released"'


def test_ctrl_c_stops_waiting_and_says_the_job_goes_on(
        daemon, server, tmp_path):
    """Ctrl-C while waiting exits 130 saying the job goes on and how to
    wait again; the job still runs on the server."""
    jobid = server.add('progressing', {'release': str(tmp_path / 'r')})
    waiting = startCli(daemon, 'add', '--wait', 'progressing', '--input',
                  '{"release": "%s"}' % (tmp_path / 'never'))
    assert 'added; waiting' in waiting.stderr.readline()
    line = ''
    while 'processing' not in line:  # a line per change: queued first?
        line = waiting.stderr.readline()
        assert line, 'the client ended before the job ran'
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130
    assert 'goes on on the server (processing)' in err
    assert 'remotetask wait' in err
    assert server.getStatus(jobid) == 'processing'


def test_show_lists_the_events_in_local_time(daemon, server):
    """show ID prints the job's times and its events with their zone."""
    jobid = server.add('echo', 1)
    assert server.wait(jobid, 30) == 'completed'
    shown = startCli(daemon, 'show', str(jobid))
    out, _ = shown.communicate(timeout=30)
    assert shown.returncode == 0
    lines = out.splitlines()
    assert any(line.startswith('created:') and line.endswith(' UTC')
               for line in lines)
    timeline = lines[lines.index('events:') + 1:]
    assert [line.split()[3] for line in timeline[:3]] == [
        'added', 'started', 'ended']

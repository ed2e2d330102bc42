"""The remotetask command line against the real daemon, as an operator
uses it: listing jobs, reading results and errors, starting, waiting,
and the mistakes it turns into one clear line."""

import datetime
import os
import re
import subprocess
import sys
import time
import xmlrpc.client

import pytest

from tests.acceptance.daemon import REMOTETASK, ROOT, cli, waitUntil


def usageError(done, words):
    """The run was a usage error (exit 2) saying ``words``, without a
    traceback."""
    assert done.returncode == 2, done
    assert words in done.stderr
    assert 'Traceback' not in done.stderr


def ids(table):
    return [int(line.split()[0]) for line in table.splitlines()[1:]]


# jobs

def test_jobs_lists_newest_first_in_pages_and_says_there_are_more(daemon):
    """jobs shows the newest first; --limit cuts the page and a line on
    stderr says how to see the older ones; --before shows them, and the
    last page says nothing more."""
    server = daemon.proxy()
    added = [server.add('echo', i, True) for i in range(5)]
    first = cli(daemon.url, 'jobs', '--limit', '3')
    assert first.returncode == 0
    assert ids(first.stdout) == added[:1:-1]
    assert first.stderr == (f'older jobs: remotetask jobs --before '
                            f'{added[2]} --limit 3\n')
    rest = cli(daemon.url, 'jobs', '--limit', '3', '--before',
               str(added[2]))
    assert ids(rest.stdout) == added[1::-1]
    assert rest.stderr == ''
    exact = cli(daemon.url, 'jobs', '--limit', '5')
    assert ids(exact.stdout) == added[::-1] and exact.stderr == ''


def test_jobs_filters_and_refuses_an_unknown_status(daemon):
    """--status and --task filter the table; a status that does not exist
    is a usage error, not an empty table."""
    server = daemon.proxy()
    waiting = server.add('echo', 1, True)
    done = server.add('echo', 2)
    assert server.wait(done, 30) == 'completed'
    table = cli(daemon.url, 'jobs', '--status', 'start later').stdout
    assert ids(table) == [waiting]
    assert ids(cli(daemon.url, 'jobs', '--task', 'echo').stdout) == \
        [done, waiting]
    usageError(cli(daemon.url, 'jobs', '--status', 'finished'),
               "invalid choice: 'finished'")


def test_output_into_a_closed_pipe_ends_quietly(daemon):
    """When the reader of the output has gone (remotetask jobs | head -1),
    the command ends with status 141 (128 + SIGPIPE) and says nothing,
    rather than that it cannot reach the server."""
    daemon.proxy().add('echo', 1)
    read, write = os.pipe()
    os.close(read)
    try:
        done = cli(daemon.url, 'jobs', stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, '')


# result, error, show, start, cancel

def test_result_and_error_of_an_unfinished_job_say_so(daemon):
    """result and error of a job that has not finished say so and exit 1,
    instead of printing null; of a finished job, they print it."""
    server = daemon.proxy()
    waiting = server.add('echo', {'x': 1}, True)
    for command in ('result', 'error'):
        done = cli(daemon.url, command, str(waiting))
        assert done.returncode == 1
        assert done.stdout == ''
        assert f'job {waiting} is start later' in done.stderr
    failed = server.add('fail')
    assert server.wait(failed, 30) == 'error'
    assert cli(daemon.url, 'error', str(failed)).stdout == \
        'An error occurred.\n'
    noResult = cli(daemon.url, 'result', str(failed))
    assert noResult.returncode == 1
    assert noResult.stderr == (f'remotetask: job {failed} failed, so it '
                               'has no result: An error occurred.\n')
    ok = server.add('echo', {'x': 1})
    assert server.wait(ok, 30) == 'completed'
    assert cli(daemon.url, 'result', str(ok)).stdout == '{\n  "x": 1\n}\n'
    noError = cli(daemon.url, 'error', str(ok))
    assert noError.returncode == 1
    assert f'job {ok} is completed; it has no error' in noError.stderr


def test_start_queues_a_job_added_to_start_later(daemon):
    """The start command that add --start-later's help names queues the
    job, which then runs."""
    assert 'remotetask start ID' in cli(daemon.url, 'add', '--help').stdout
    added = cli(daemon.url, 'add', 'echo', '--input', '"later"',
                '--start-later')
    jobid = int(added.stdout)
    server = daemon.proxy()
    assert server.getStatus(jobid) == 'start later'
    started = cli(daemon.url, 'start', str(jobid))
    assert (started.returncode, started.stdout) == (0, f'job {jobid} '
                                                       'queued\n')
    assert server.wait(jobid, 30) == 'completed'
    again = cli(daemon.url, 'start', str(jobid))
    assert again.returncode == 1
    assert (f"Job {jobid}'s status is 'completed', so it cannot be started: "
            "only a job whose status is 'start later' can.") in again.stderr


def test_cancel_stops_a_running_job_as_its_help_says(daemon):
    """cancel's help says it stops running jobs, and it does."""
    assert 'a running job is stopped' in \
        cli(daemon.url, 'cancel', '--help').stdout.replace('\n ', '')
    server = daemon.proxy()
    jobid = server.add('sleep', 60)
    waitUntil(lambda: server.getStatus(jobid) == 'processing')
    done = cli(daemon.url, 'cancel', str(jobid))
    assert (done.returncode, done.stdout) == (0, f'job {jobid} cancelled\n')
    assert server.wait(jobid, 30) == 'cancelled'


def test_show_includes_the_history_and_no_stale_next_run(daemon):
    """show lists every failed attempt of a job, and leaves out the due
    time of a retry once the job has finished."""
    server = daemon.proxy()
    jobid = server.add('die')
    assert server.wait(jobid, 30) == 'error'
    shown = cli(daemon.url, 'show', str(jobid)).stdout
    assert re.search(r'^history:   attempt 1: The worker process running '
                     r'the job died .* \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ to '
                     r'\d{4}-', shown, re.M), shown
    assert re.search(r'^           attempt 2: ', shown, re.M), shown
    assert 'nextRun' not in shown
    assert 'status:    error' in shown


# add --wait

def test_wait_reports_the_real_elapsed_time(daemon):
    """--wait shows each status with the time it was seen, so a job of
    1.5 s shows as completed after at least 1.5 s, not when the poll
    that saw it began; a timeout is the elapsed time."""
    done = cli(daemon.url, 'add', 'sleep', '--input', '1.5', '--wait')
    assert done.returncode == 0
    found = re.search(r'^ +(\d+\.\d) s  completed$', done.stderr, re.M)
    assert found, done.stderr
    assert 1.5 <= float(found[1]) < 20
    late = cli(daemon.url, 'add', 'sleep', '--input', '30', '--wait',
               '--timeout', '1.2')
    assert late.returncode == 1
    assert re.search(r'is still processing after 1\.[2-9] s; it goes on',
                     late.stderr.strip()), late.stderr


@pytest.mark.shared
@pytest.mark.parametrize('timeout', ['0', '-1', 'soon', 'inf'])
def test_a_timeout_that_is_not_positive_is_a_usage_error(daemon, timeout):
    """--timeout 0, negative or not a number is refused before anything
    is added."""
    usageError(cli(daemon.url, 'add', 'echo', '--wait', '--timeout',
                   timeout), 'argument --timeout')
    assert daemon.proxy().getJobs({})['jobs'] == []


# what the command line refuses

@pytest.mark.shared
@pytest.mark.parametrize('args, words', [
    (('status', '4294967296'), 'is not a job id: ids are from 1 to '
                               '2147483647'),
    (('show', 'x'), "'x' is not a job id"),
    (('jobs', '--before', '99999999999'), 'is not a job id'),
    (('jobs', '--limit', '0'), "'0' must be a whole number from 1 to 1000"),
    (('cron', 'echo'), 'cron needs a schedule: --crontab, --delay'),
])
def test_impossible_values_are_usage_errors(daemon, args, words):
    """An id XML-RPC cannot carry, a limit out of range or a cron job
    without a schedule: exit 2 and one line, no OverflowError."""
    usageError(cli(daemon.url, *args), words)


def test_cron_help_says_a_field_schedule_keeps_the_seconds(daemon):
    """cron --help says that a schedule of fields runs at the second of
    the minute the job was added (the legacy rule), and that a crontab
    runs at second 0; a job added so shows it in its next run."""
    helped = ' '.join(cli(daemon.url, 'cron', '--help').stdout.split())
    assert ('keep the seconds of the moment the job was added, as '
            "lovely.remotetask's did: added at 14:16:57, --minute 30 runs "
            'at :30:57. A --crontab schedule runs at second 0.') in helped
    server = daemon.proxy()
    fields = server.addCronJob('echo', None, {'minute': [30]})
    crontab = server.addCronJob('echo', None, {'crontab': '30 * * * *'})
    # The next run is set once the server's cron loop has seen the job.
    waitUntil(lambda: 'nextRun' in server.getJob(fields)
              and 'nextRun' in server.getJob(crontab),
              message='the next runs to be set')
    added = int(server.getJob(fields)['created'][17:19])
    # Seen by the loop, which runs once a second, within a second of it.
    assert (int(server.getJob(fields)['nextRun'][17:19]) - added) % 60 in \
        (0, 1)
    assert server.getJob(crontab)['nextRun'][17:19] == '00'


def test_cron_takes_a_misfire_policy(daemon):
    """cron --misfire skip reaches the job's schedule."""
    assert '--misfire {once,skip}' in cli(daemon.url, 'cron',
                                          '--help').stdout
    added = cli(daemon.url, 'cron', 'echo', '--hour', '3', '--misfire',
                'skip')
    assert added.returncode == 0, added.stderr
    job = daemon.proxy().getJob(int(added.stdout))
    assert job['schedule'] == {'hour': [3], 'misfire': 'skip'}


def test_a_url_without_a_scheme_is_a_usage_error():
    """--url 127.0.0.1:8770 says that it needs http://, and how to write
    it."""
    usageError(cli('127.0.0.1:8770', 'tasks'),
               'the server URL 127.0.0.1:8770 has no scheme; write --url '
               'http://127.0.0.1:8770/')


@pytest.mark.parametrize('url, env', [
    ('bob:secret@127.0.0.1:8770', {}),
    (None, {'REMOTETASK_URL': 'bob:secret@127.0.0.1:8770'}),
])
def test_a_url_without_a_scheme_never_shows_its_password(url, env):
    """A scheme-less URL with a password, in --url or REMOTETASK_URL, is
    a usage error whose advice has a placeholder for the password; nor
    does --help show the password of REMOTETASK_URL."""
    args = ['--url', url] if url else []
    done = subprocess.run(
        [sys.executable, REMOTETASK, *args, 'status', '1'],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=ROOT, **env))
    usageError(done, 'the server URL bob@127.0.0.1:8770 has no scheme; '
                     'write --url http://bob:PASSWORD@127.0.0.1:8770/')
    assert 'secret' not in done.stderr
    helped = subprocess.run(
        [sys.executable, REMOTETASK, '--help'], capture_output=True,
        text=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT, **env))
    assert helped.returncode == 0 and 'secret' not in helped.stdout


@pytest.mark.parametrize('url, words', [
    ('http://127.0.0.1:notaport/', 'the server URL http://127.0.0.1:'
                                   'notaport/ is not a valid URL: Port'),
    ('http://bob:secret@[::1/', 'the server URL http://bob@[::1/ is not a '
                                'valid URL: Invalid IPv6 URL'),
    ('http://127.0.0.1:99999/', 'is not a valid URL: Port out of range'),
])
def test_a_broken_url_is_one_line(url, words):
    """A URL urllib cannot parse (a port that is no number, a broken
    IPv6 address) is a usage error in one line, without the password."""
    done = cli(url, 'tasks')
    usageError(done, words)
    assert 'secret' not in done.stderr


@pytest.mark.shared
@pytest.mark.parametrize('args, words', [
    (('add', 'echo', '--input', '2147483648'),
     '--input is 2147483648, beyond the whole numbers XML-RPC carries '
     '(from -2147483648 to 2147483647)'),
    (('cron', 'echo', '--input', '99999999999', '--minute', '1'),
     '--input is 99999999999, beyond'),
    (('add', 'echo', '--input', '{"a": [1, -2147483649]}'),
     '--input["a"][1] is -2147483649, beyond'),
    (('add', 'echo', '--input', '{"name": "a\\u0001b"}'),
     '--input["name"] holds the character U+0001, which XML-RPC cannot '
     'carry'),
    (('add', 'echo', '--input', '{"a\\u001fb": 1}'),
     'the member name "a\\u001fb" in --input holds the character U+001F'),
    (('add', 'echo', '--input', '[' * 100000), 'is nested too deeply'),
])
def test_an_input_xml_rpc_cannot_carry_is_one_line(daemon, args, words):
    """A number beyond 32 bits or a control character in --input is a
    usage error naming the part of the input, not a traceback or a
    fault about XML the user never wrote; nothing is added."""
    usageError(cli(daemon.url, *args), words)
    assert daemon.proxy().getJobs({})['jobs'] == []


def test_a_user_without_a_password_is_not_a_failed_login(startDaemon,
                                                          tmp_path):
    """REMOTETASK_USER without REMOTETASK_PASSWORD, or a user in the URL
    without one, says the password is missing and asks nothing of the
    server, so no failed login is counted; REMOTETASK_PASSWORD completes
    a URL that names the user."""
    users = tmp_path / 'users'
    users.write_text('alice:secret\n')
    daemon = startDaemon(f'--users={users}')
    withUser = f'http://alice@127.0.0.1:{daemon.port}/'
    for done in (cli(daemon.url, 'tasks', env={'REMOTETASK_USER': 'alice'}),
                 cli(withUser, 'tasks'),
                 cli(withUser, 'tasks', env={'REMOTETASK_PASSWORD': ''})):
        usageError(done, 'but no password is given; set '
                         'REMOTETASK_PASSWORD')
    assert cli(withUser, 'tasks', env={'REMOTETASK_PASSWORD': 'secret'}
               ).returncode == 0
    assert 'Failed login' not in daemon.log()


def test_a_refused_login_names_the_user_never_the_password(startDaemon,
                                                           tmp_path):
    """A 401 names the user whose credentials were refused, from the URL
    or the environment, and never prints the password."""
    users = tmp_path / 'users'
    users.write_text('alice:secret\n')
    daemon = startDaemon(f'--users={users}')
    inURL = cli(f'http://alice:wrong-pass@127.0.0.1:{daemon.port}/',
                'tasks')
    fromEnv = cli(daemon.url, 'tasks', env=dict(
        REMOTETASK_USER='alice', REMOTETASK_PASSWORD='wrong-pass'))
    for done in (inURL, fromEnv):
        assert done.returncode == 1
        assert "the user 'alice' and the password given were refused" in \
            done.stderr
        assert 'wrong-pass' not in done.stderr
    assert f'http://alice@127.0.0.1:{daemon.port}/ answered 401' in \
        inURL.stderr
    unreachable = cli('http://bob:hunter2@127.0.0.1:1/', 'tasks')
    assert unreachable.returncode == 3
    assert 'hunter2' not in unreachable.stderr
    assert 'http://bob@127.0.0.1:1/' in unreachable.stderr
    with pytest.raises(xmlrpc.client.ProtocolError):
        daemon.proxy('alice', 'wrong-pass').getAvailableTasks()


# retry, run-now, and the options of add

def test_retry_queues_a_failed_job_again_as_the_dashboard_does(daemon):
    """retry queues a job that ended in error again with a fresh count of
    attempts; a job that did not fail is refused, saying its status and
    the one it needs, with exit status 1."""
    server = daemon.proxy()
    failed = server.add('fail')
    assert server.wait(failed, 30) == 'error'
    done = cli(daemon.url, 'retry', str(failed))
    assert (done.returncode, done.stdout) == (0, f'job {failed} queued '
                                                 'again\n')
    assert server.wait(failed, 30) == 'error'
    assert server.getJob(failed)['attempts'] == 1
    assert [e['event'] for e in server.getJob(failed)['events']].count(
        'retried') == 1
    ok = server.add('echo', 1)
    assert server.wait(ok, 30) == 'completed'
    refused = cli(daemon.url, 'retry', str(ok))
    assert refused.returncode == 1
    assert (f"Job {ok}'s status is 'completed', so it cannot be retried: "
            "only a job whose status is 'error' can. (fault 5)") in \
        refused.stderr


def test_run_now_runs_a_cron_job_at_once_and_keeps_its_schedule(daemon):
    """run-now makes a cron job due at once: it runs, and stays a cron
    job on its schedule; a queued job is refused."""
    server = daemon.proxy()
    added = cli(daemon.url, 'cron', 'echo', '--input', '"ran"',
                '--crontab', '0 0 1 1 *')
    jobid = int(added.stdout)
    done = cli(daemon.url, 'run-now', str(jobid))
    assert (done.returncode, done.stdout) == (0, f'job {jobid} is due '
                                                 'now\n')
    waitUntil(lambda: server.getJob(jobid).get('output') == 'ran',
              message='the cron job running')
    job = server.getJob(jobid)
    assert job['status'] == 'cronjob'
    # Due again on the next 1 January, not now.
    assert datetime.datetime.fromisoformat(job['nextRun']).timestamp() > \
        time.time() + 60
    waiting = server.add('echo', 1, True)
    refused = cli(daemon.url, 'run-now', str(waiting))
    assert refused.returncode == 1
    assert "only a job whose status is 'cronjob' or 'delayed' can" in \
        refused.stderr


@pytest.mark.shared
def test_add_timeout_without_wait_is_a_usage_error(daemon):
    """--timeout only bounds --wait: alone it is refused, not ignored,
    and nothing is added."""
    usageError(cli(daemon.url, 'add', 'echo', '--timeout', '5'),
               '--timeout is how long --wait waits: give --wait too')
    assert daemon.proxy().getJobs({})['jobs'] == []


def test_add_takes_max_attempts_and_notify(startDaemon):
    """add --max-attempts N bounds the job's starts (a job whose worker
    dies is tried once, not twice); --notify reaches the job, under a
    prefix the server allows, and is refused elsewhere."""
    daemon = startDaemon('--notify-allow=http://127.0.0.1:1/')
    server = daemon.proxy()
    once = int(cli(daemon.url, 'add', 'die', '--max-attempts', '1').stdout)
    assert server.wait(once, 30) == 'error'
    assert server.getJob(once)['attempts'] == 1
    usageError(cli(daemon.url, 'add', 'die', '--max-attempts', '0'),
               "'0' must be a whole number from 1 to")
    told = cli(daemon.url, 'add', 'echo', '--notify',
               'http://127.0.0.1:1/hook')
    assert told.returncode == 0, told.stderr
    assert server.getJob(int(told.stdout))['notify'] == \
        'http://127.0.0.1:1/hook'
    elsewhere = cli(daemon.url, 'add', 'echo', '--notify',
                    'http://127.0.0.1:2/hook')
    assert elsewhere.returncode == 1 and '(fault 3)' in elsewhere.stderr


def test_jobs_shows_when_a_delayed_job_is_due(daemon):
    """A job added with --delay 3600 lists as "queued, due in 59 min",
    not as plain queued."""
    jobid = int(cli(daemon.url, 'add', 'echo', '--delay', '3600').stdout)
    table = cli(daemon.url, 'jobs').stdout
    assert re.search(rf'^{jobid} +echo +queued, due in 5[89] min ', table,
                     re.M), table

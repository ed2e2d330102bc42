"""The command line's own logic, against a stand-in for the server that
answers as the wire may: structs without their nil members."""

import argparse
import datetime
import time

import pytest

from remotetask import clicommands, cliparser, cliserver, clisupport
from remotetask.core.addoptions import ADD_OPTIONS


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times print in the local zone: these tests read them in UTC."""
    monkeypatch.setenv('TZ', 'UTC')
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class FakeServer:
    """Answers getJob with ``job`` and getJobs with ``pages`` in turn,
    recording the filters asked for."""

    def __init__(self, job=None, pages=()):
        self.job = job
        self.pages = list(pages)
        self.filters = []

    def getJob(self, jobid):
        return dict(self.job)

    def getJobs(self, filter):
        self.filters.append(filter)
        return self.pages.pop(0)


def run(function, server, capsys, **args):
    function(server, argparse.Namespace(**args))
    return capsys.readouterr()


def test_show_reads_structs_without_nil_members(capsys):
    """show prints a job whose struct leaves out traceback, output,
    error and schedule (nil), and drops nextRun once it has finished."""
    job = {'id': 3, 'task': 'echo', 'status': 'completed', 'attempts': 1,
           'input': {'x': 1}, 'created': '2026-01-02T03:04:05+00:00',
           'nextRun': '2026-01-02T03:09:05+00:00',
           'history': [{'attempt': 1, 'error': 'busy', 'started': 0.0,
                        'completed': 1.0}]}
    out = run(clicommands.cmdShow, FakeServer(job), capsys, id=3).out
    assert 'nextRun' not in out
    assert 'output:    null\n' in out
    assert ('history:   attempt 1: busy (1970-01-01 00:00:00 UTC to '
            '1970-01-01 00:00:01 UTC)\n') in out
    job['status'] = 'queued'
    assert 'nextRun:   2026-01-02 03:09:05 UTC\n' in \
        run(clicommands.cmdShow, FakeServer(job), capsys, id=3).out


def test_result_of_a_job_whose_result_is_nil(capsys):
    """A completed job whose result is nil (left out of the struct)
    prints null."""
    job = {'id': 3, 'task': 'echo', 'status': 'completed'}
    assert run(clicommands.cmdResult, FakeServer(job), capsys, id=3).out == 'null\n'
    job['status'] = 'processing'
    with pytest.raises(clisupport.CommandError, match='job 3 is processing; it '
                                               'has no result yet'):
        clicommands.cmdResult(FakeServer(job), argparse.Namespace(id=3))


def test_jobs_reads_on_past_short_pages(capsys):
    """A newest-first page may be short and still have a cursor (status
    and task together): jobs asks on until its table is full, then says
    there are more; rows without error or created are shown."""
    pages = [{'jobs': [{'id': 9, 'task': 't', 'status': 'error',
                        'error': 'bad\nline'}], 'cursor': 5},
             {'jobs': [], 'cursor': 3},
             {'jobs': [{'id': 2, 'task': 't', 'status': 'error'},
                       {'id': 1, 'task': 't', 'status': 'error'}],
              'cursor': None}]
    server = FakeServer(pages=pages)
    printed = run(clicommands.cmdJobs, server, capsys, status='error', task='t',
                  before=None, limit=2)
    assert [line.split()[0] for line in printed.out.splitlines()] == \
        ['ID', '9', '2']
    assert '9   t     error   ' in printed.out and 'bad line' in printed.out
    assert printed.err == ('older jobs: remotetask jobs --before 2 '
                           '--status error --task t --limit 2\n')
    assert server.filters == [
        {'status': 'error', 'task': 't', 'newestFirst': True, 'limit': 3},
        {'status': 'error', 'task': 't', 'newestFirst': True, 'limit': 2,
         'before': 5},
        {'status': 'error', 'task': 't', 'newestFirst': True, 'limit': 2,
         'before': 3}]


def test_every_option_of_every_command_has_help():
    """Each argument and option of every client command says what it is
    for in --help."""
    parser = cliparser.makeParser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, (name, action.dest)


class AddingServer:
    """Answers add with 7, recording its arguments."""

    def __init__(self):
        self.added = []

    def add(self, task, input, options):
        self.added.append((task, input, options))
        return 7


def test_add_sends_every_option_of_add_as_its_struct_member(capsys):
    """Each of add's options (ADD_OPTIONS, the one list) has an option of
    remotetask add, sent as the member of add's options struct; without
    any, the legacy startLater boolean goes, which older servers take."""
    parser = cliparser.makeParser()
    args = parser.parse_args([
        'add', 'echo', '--input', '[1]', '--start-later', '--priority', '5',
        '--key', 'k', '--delay', '1.5', '--max-attempts', '2', '--notify',
        'http://h/', '--after', '1,2', '--on-failure', 'run', '--pass'])
    server = AddingServer()
    clicommands.cmdAdd(server, args)
    assert capsys.readouterr().out == '7\n'
    options = server.added[0][2]
    assert server.added == [('echo', [1], {
        'startLater': True, 'priority': 5, 'key': 'k', 'delay': 1.5,
        'maxAttempts': 2, 'notify': 'http://h/', 'after': [1, 2],
        'onFailure': 'run', 'pass': True})]
    assert set(options) == {option.name for option in ADD_OPTIONS}
    clicommands.cmdAdd(server, parser.parse_args(['add', 'echo']))
    clicommands.cmdAdd(server, parser.parse_args(['add', 'echo', '--key',
                                                  'k']))
    assert server.added[1:] == [('echo', None, False),
                                ('echo', None, {'key': 'k',
                                                'startLater': False})]


@pytest.mark.parametrize('url, shown', [
    ('http://alice:secret@host:8770/', 'http://alice@host:8770/'),
    ('http://host:8770/', 'http://host:8770/'),
    ('https://a%40b:p%3Aw@host/', 'https://a%40b@host/'),
    ('bob:secret@127.0.0.1:8770', 'bob@127.0.0.1:8770'),
    ('http://bob:secret@[::1/', 'http://bob@[::1/'),
    ('http://bob:se@cret@host/x@y', 'http://bob@host/x@y'),
])
def test_urls_are_shown_without_passwords(url, shown):
    """Every URL the command line prints has its password taken out,
    also one without a scheme or too broken for urllib to parse."""
    assert cliserver.shownURL(url) == shown


def test_show_indents_json_under_its_label_and_says_the_schedule(capsys):
    """show indents the further lines of a JSON value (and of a long
    error) under the first, and gives a cron schedule in the dashboard's
    words, the crontab beside them."""
    job = {'id': 4, 'task': 'echo', 'status': 'cronjob', 'attempts': 0,
           'input': {'a': [1]}, 'error': 'first\nsecond',
           'schedule': {'minute': [1, 2, 3], 'hour': [3], 'misfire': 'skip'}}
    out = run(clicommands.cmdShow, FakeServer(job), capsys, id=4).out
    assert ('input:     {\n'
            '             "a": [\n'
            '               1\n'
            '             ]\n'
            '           }\n') in out
    assert 'error:     first\n           second\n' in out
    assert ('schedule:  at 03:01, 03:02 and 03:03; missed runs are '
            'skipped\n') in out
    job['schedule'] = {'crontab': '*/5 * * * *'}
    assert 'schedule:  every 5 minutes (crontab */5 * * * *)\n' in \
        run(clicommands.cmdShow, FakeServer(job), capsys, id=4).out
    job['schedule'] = {'delay': 90.0}
    assert 'schedule:  once, 90 s after it was first seen\n' in \
        run(clicommands.cmdShow, FakeServer(job), capsys, id=4).out


@pytest.mark.parametrize('left, shown', [
    (3599.5, 'queued, due in 59 min'), (30, 'queued, due in 30 s'),
    (5 * 3600 + 180, 'queued, due in 5 h 3 min'),
    (7200, 'queued, due in 2 h'), (3 * 86400 + 5, 'queued, due in 3 days'),
    (0.5, 'queued'), (-10, 'queued'),
])
def test_a_queued_job_not_yet_due_says_when_it_is(left, shown):
    """In the jobs table a queued job with a due time ahead (add --delay,
    a retry's wait) reads "queued, due in 59 min"; one already due reads
    queued."""
    now = 1_800_000_000
    due = datetime.datetime.fromtimestamp(now + left, datetime.timezone.utc)
    job = {'status': 'queued', 'nextRun': due.isoformat()}
    assert clisupport.statusText(job, now) == shown
    assert clisupport.statusText(dict(job, status='cronjob'), now) == \
        'cronjob'

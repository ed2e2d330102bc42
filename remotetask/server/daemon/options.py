"""The daemon's command line: ``twistd remotetask --help`` and
``remotetask serve --help`` show these options."""

import os
import sys
import resource
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twisted.python import usage

from remotetask.core import notifying
from remotetask.core.limits import checkConcurrency, parseRate
from remotetask.core.registry import parseTaskPath
from remotetask.core.workflows import MAX_AFTER, MAX_STEPS
from remotetask.errors import InvalidArgument
from remotetask.server.cluster.retention import parseAge, parseKeep
from remotetask.server.daemon.startup import parseEndpoint
from remotetask.store import defaultStoreFile, parseStore
from remotetask.wire.sending import MAX_ANSWER_MEMORY, SEND_TIMEOUT
from remotetask.wire.spool import MAX_SPOOL
from remotetask.wire.xmlrpc import MAX_ANSWER_SIZE, MAX_PAGE_SIZE
from remotetask.wire.passwords import readUsers
from remotetask.wire.rules import readRoles

DEFAULT_LISTEN = 'tcp:8770:interface=127.0.0.1'
DEFAULT_STORE = f'sqlite:{defaultStoreFile()}'


def _size(name):
    """A parser of byte counts for ``--name``, with an optional K, M or G
    suffix."""
    def parse(text):
        units = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3}
        text = text.strip().upper().removesuffix('B')
        factor = units.get(text[-1:], 1)
        number = text[:-1] if text[-1:] in units else text
        try:
            value = int(float(number) * factor)
        except ValueError:
            raise usage.UsageError(
                f'--{name}: not a size: {text!r} (e.g. 10M)') from None
        if value <= 0:
            raise usage.UsageError(f'--{name} must be positive')
        return value
    return parse


def _shownSize(value):
    """A byte count as --help shows it: 256M rather than 268435456."""
    for suffix, unit in (('G', 1024 ** 3), ('M', 1024 ** 2), ('K', 1024)):
        if value % unit == 0:
            return f'{value // unit}{suffix}'
    return str(value)


def defaultMaxConnections():
    """Half the process's open-file limit (512 with the common 1,024), at
    most 10,000: the other half is left for the store, the workers' pipes
    and the log, so that clients can never use up the files the server
    needs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10000
    return max(16, min(10000, soft // 2))


def _positive(kind, name):
    """A parser of ``--name``'s value that must be above 0 (NaN is not)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise usage.UsageError(f'--{name} must be a positive number, '
                                   f'not {text!r}')
        return value
    return parse


def _number(option, kind, minimum=None):
    """A coercer of the value of ``option`` to ``kind`` (int or float)
    whose error names the option. ``minimum``: the smallest value allowed;
    a duration below 0 would reach ``callLater`` only at shutdown, where
    its error would cut the shutdown short."""
    what = 'a whole number' if kind is int else 'a number'

    def coerce(text):
        try:
            value = kind(text)
        except ValueError:
            raise usage.UsageError(
                f'{option} {text!r}: it must be {what}') from None
        if minimum is not None and not value >= minimum:
            raise usage.UsageError(
                f'{option} {text!r}: it must be {minimum} or more')
        return value
    coerce.coerceDoc = ''
    return coerce


class Options(usage.Options):
    synopsis = '[options]'
    longdesc = ('Run the remotetask server: XML-RPC clients add jobs for '
                'named tasks and ask for their results; a pool of workers '
                'runs them, and cron jobs run on their schedule.')

    optFlags = [
        ['examples', None,
         'Enable the example tasks echo and sleep (for a first run).'],
        ['access-log', None, 'Log a line for every HTTP request.'],
    ]
    optParameters = [
        ['listen', 'l', DEFAULT_LISTEN,
         'Where to listen, as an endpoint string; ssl:... for TLS.'],
        ['store', 's', DEFAULT_STORE,
         'The job store: sqlite:FILE, memory: or a postgresql:// URL. '
         'The default file is under $XDG_DATA_HOME (or ~/.local/share), '
         'whatever the working directory.'],
        ['workers', 'w', os.cpu_count() or 1,
         'How many jobs run at once.', _number('--workers', int)],
        ['pool', None, 'process',
         'Run jobs in worker processes (process) or threads (thread).'],
        ['timezone', None, None,
         'The zone cron schedules are read in (default: the local one); '
         'UTC reads them as lovely.remotetask and z3c.taskqueue did.'],
        ['users', None, None,
         'A password file (user:password lines); when given, every '
         'request needs HTTP Basic credentials.'],
        ['roles', None, None,
         'With --users: a file of USER ROLE [TASKS] lines (admin, caller '
         'or viewer; see docs/permissions.md); without it every user is '
         'an admin.'],
        ['max-request-size', None, 10 * 1024 * 1024,
         'The largest request body accepted (K, M, G suffixes).',
         _size('max-request-size')],
        ['max-spool-size', None, MAX_SPOOL,
         'Bytes of request bodies kept in temporary files while they '
         'arrive, in all; a body past it is answered 503.',
         _size('max-spool-size')],
        ['max-answer-size', None, MAX_ANSWER_SIZE,
         'The largest answer to one request, a multicall\'s in all (K, '
         'M, G); a larger result is fault 12, a larger job struct leaves '
         'out its largest members.', _size('max-answer-size')],
        ['max-page-size', None, MAX_PAGE_SIZE,
         'A page of jobs (getJobs, /api/jobs) ends before the job that '
         'would take it past this size; its cursor goes on from there.',
         _size('max-page-size')],
        ['max-answer-memory', None, MAX_ANSWER_MEMORY,
         'Bytes of answers waiting for their clients to take them, in '
         'all; a large answer past it is fault 11 (try again shortly).',
         _size('max-answer-memory')],
        ['send-timeout', None, SEND_TIMEOUT,
         'Seconds a client may take nothing of a large answer before its '
         'connection is closed.', _positive(float, 'send-timeout')],
        ['max-after', None, MAX_AFTER,
         'How many jobs one job may wait for (add\'s after, a group\'s '
         'fan-in).', _positive(int, 'max-after')],
        ['max-steps', None, MAX_STEPS,
         'How many steps one addChain or addGroup may have.',
         _positive(int, 'max-steps')],
        ['portfile', None, None,
         'Write the port listened on to this file (for --listen tcp:0).'],
        ['commands', None, None,
         'A file declaring tasks that run external programs.'],
        ['grace', None, 30.0,
         'Seconds running jobs get to finish when the server stops.',
         _number('--grace', float, minimum=0)],
        ['store-threads', None, 4,
         'Threads for store calls.', _positive(int, 'store-threads')],
        ['server-id', None, None,
         'With a shared store: a name for this server that stays the same '
         'across restarts, so that it takes back its own unfinished jobs '
         'at once when it starts (default: a new one each start).'],
        ['keep-finished', None, 'completed=7d,error=30d,cancelled=30d',
         'How long finished jobs are kept before they are removed, per '
         'status: AGE as 90s, 15m, 12h, 7d, 2w or forever.'],
        ['max-connections', None, defaultMaxConnections(),
         'Connections open at once, in all; more are answered 503. '
         f'[default: half the open-file limit, at most 10000: here '
         f'{defaultMaxConnections()}]',
         _positive(int, 'max-connections')],
        ['max-connections-per-address', None, 100,
         'Connections open at once from one client address; more are '
         'answered 503.', _positive(int, 'max-connections-per-address')],
        ['header-timeout', None, 20.0,
         "Seconds a request's headers may take to arrive, from the "
         'opening of its connection or the end of the previous answer '
         '(an idle connection is closed then); 408 past it.',
         _positive(float, 'header-timeout')],
        ['body-timeout', None, 60.0,
         "Seconds a request's body may take to arrive after its headers; "
         '408 past it.', _positive(float, 'body-timeout')],
        ['login-delay', None, 1.0,
         'With --users: seconds an address that failed to log in waits '
         'before its next attempt is checked, doubling with each further '
         'failure (up to 32 times); 0: no wait (failures are still '
         'logged).', float],
        ['store-timeout', None, 10.0,
         'With PostgreSQL: seconds a store call may take before it fails '
         'with fault 6 (statements past it are cancelled, lock waits end '
         'at half of it, and a call with no answer at all is cut 5 s '
         'after it).', _positive(float, 'store-timeout')],
        ['heartbeat-timeout', None, 30.0,
         'With a shared store: seconds without a heartbeat after which '
         "a server's running jobs are put back in the queue, and its "
         'tasks are no longer accepted on its account.',
         _positive(float, 'heartbeat-timeout')],
        ['log-jobs', None, 'all',
         'Which ended jobs get a log line: all, failed or none (at '
         'thousands of jobs a second, all is much log).'],
        ['max-waiters', None, 10000,
         'Clients that may wait at once (wait, addAndWait); more are '
         'refused with fault 11 until some are answered.',
         _positive(int, 'max-waiters')],
        ['max-pending-writes', None, 10000,
         'Writes that may wait for the store (adds, cancels, ...); more '
         'are refused with fault 6 until it catches up.',
         _positive(int, 'max-pending-writes')],
        ['notify-method', None, 'jobEnded',
         'The XML-RPC method a completion call calls, as '
         'METHOD(job id, status).'],
        ['notify-timeout', None, 10.0,
         'Seconds one completion call may take; past it, it has failed.',
         _positive(float, 'notify-timeout')],
        ['notify-retry-time', None, '1h',
         'How long after a job ended its completion call is tried again '
         'when it fails (an age: 90s, 15m, 12h, 2d).'],
        ['notify-concurrency', None, 10,
         'Completion calls this server makes at once; more wait, due, in '
         'the store.', _positive(int, 'notify-concurrency')],
    ]

    def __init__(self):
        super().__init__()
        self['tasks'] = {}
        self['allowed-hosts'] = []
        self['concurrency'] = {}
        self['rates'] = {}
        self['notify-allow'] = []
        self._forHelp()

    def _forHelp(self):
        """``--help`` as a person reads it: a docstring's line breaks and
        indentation are not runs of spaces, sizes read as 256M, and the
        default of --max-connections is said once, in its text."""
        self.docs = {name: doc and ' '.join(doc.split())
                     for name, doc in self.docs.items()}
        for name in ('max-request-size', 'max-answer-size', 'max-page-size',
                     'max-answer-memory'):
            self.defaults[name] = _shownSize(self.defaults[name])
        self.defaults['max-connections'] = None

    def opt_version(self):
        """Print the version of remotetask (and Twisted's) and exit."""
        import twisted
        import remotetask
        print(f'remotetask {remotetask.__version__} (Twisted '
              f'{twisted.__version__})')
        sys.exit(0)

    def opt_notify_allow(self, value):
        """Let jobs ask for a completion call at URLs under this prefix
        (repeatable; none by default: every notify URL is refused)."""
        try:
            self['notify-allow'].append(notifying.parsePrefix(value))
        except ValueError as error:
            raise usage.UsageError(f'--notify-allow: {error}') from None

    def opt_allowed_host(self, value):
        """Answer to this Host name too (repeatable); other names get 421."""
        if not value or any(c in value for c in '/ @'):
            raise usage.UsageError(f'--allowed-host needs a host name, not '
                                   f'{value!r}')
        self['allowed-hosts'].append(value)

    def opt_limit(self, value):
        """At most N jobs of TASK run at once, on all the servers sharing
        the store: TASK=N (repeatable; wins over the task's own)."""
        name, count = self._perTask('limit', 'TASK=N', value)
        try:
            self['concurrency'][name] = checkConcurrency(
                int(count) if count.isdigit() else count)
        except InvalidArgument as error:
            raise usage.UsageError(f'--limit {value}: {error}') from None

    def opt_rate(self, value):
        """At most N jobs of TASK start per second, minute or hour, on all
        the servers sharing the store: TASK=N/s, N/m or N/h (repeatable;
        wins over the task's own)."""
        name, rate = self._perTask('rate', 'TASK=N/s, N/m or N/h', value)
        try:
            self['rates'][name] = parseRate(rate)
        except InvalidArgument as error:
            raise usage.UsageError(f'--rate {value}: {error}') from None

    @staticmethod
    def _perTask(option, form, value):
        name, sep, setting = value.rpartition('=')
        if not sep or not name or not setting:
            raise usage.UsageError(f'--{option} needs {form}, not {value!r}')
        return name, setting

    def opt_task(self, value):
        """Declare a task: NAME=package.module:function (repeatable)."""
        name, sep, path = value.partition('=')
        try:
            if not sep or not name.strip():
                raise ValueError('it needs a name: NAME=package.module:'
                                 'function')
            parseTaskPath(path)
        except ValueError as error:
            raise usage.UsageError(f'--task {value}: {error}') from None
        self['tasks'][name] = path

    def postOptions(self):
        from twisted.internet import reactor
        if self['log-jobs'] not in ('all', 'failed', 'none'):
            raise usage.UsageError(
                f"--log-jobs is all, failed or none, not {self['log-jobs']!r}")
        try:
            self['endpoint'] = parseEndpoint(reactor, self['listen'])
        except ValueError as error:
            raise usage.UsageError(str(error)) from None
        self._checkStore()
        if self['pool'] not in ('process', 'thread'):
            raise usage.UsageError('--pool is process or thread')
        if self['workers'] < 1:
            raise usage.UsageError('--workers must be at least 1')
        if self['timezone']:
            try:
                self['timezone'] = ZoneInfo(self['timezone'])
            except (ZoneInfoNotFoundError, ValueError):
                raise usage.UsageError(
                    f'unknown time zone {self["timezone"]!r}') from None
        try:
            self['keep-finished'] = parseKeep(self['keep-finished'])
        except ValueError as error:
            raise usage.UsageError(f'--keep-finished: {error}') from None
        try:
            self['notify-retry-time'] = parseAge(self['notify-retry-time'])
        except ValueError as error:
            raise usage.UsageError(f'--notify-retry-time: {error}') from None
        if self['notify-retry-time'] is None:
            raise usage.UsageError('--notify-retry-time must be a time, not '
                                   'forever: calls are tried for a bounded '
                                   'time.')
        for name in ('users', 'commands', 'roles'):
            if self[name] and not os.path.isfile(self[name]):
                raise usage.UsageError(f'--{name}: no file {self[name]!r}')
        if self['login-delay'] < 0:
            raise usage.UsageError('--login-delay must be 0 or more')
        if self['users']:
            try:
                readUsers(self['users'])
            except (OSError, ValueError, UnicodeDecodeError) as error:
                raise usage.UsageError(f'--users: {error}') from None
        if self['roles']:
            if not self['users']:
                raise usage.UsageError('--roles needs --users: roles are '
                                       "those of the users file's users")
            try:
                readRoles(self['roles'])
            except (OSError, ValueError, UnicodeDecodeError) as error:
                raise usage.UsageError(f'--roles: {error}') from None

    def _checkStore(self):
        """Refuse an unknown kind of store; make a SQLite file's name
        absolute, and the default file's directory."""
        isDefault = self['store'] == DEFAULT_STORE
        try:
            kind, target = parseStore(self['store'])
        except ValueError as error:
            raise usage.UsageError(
                f'--store {self["store"]}: {error}') from None
        if kind != 'sqlite':
            return
        self['store'] = f'sqlite:{target}'
        if isDefault:
            directory = os.path.dirname(target)
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            except OSError as error:
                raise usage.UsageError(
                    f'cannot make {directory} for the default store '
                    f'({error.strerror}); give --store') from None

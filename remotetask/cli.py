"""The ``remotetask`` command: run the server, or talk to one.

``remotetask serve`` runs the same service as ``twistd -n remotetask``;
every other subcommand is an XML-RPC client of a running server at
``--url``. Whatever goes wrong (server unreachable, a Fault, bad JSON),
the user gets one line on stderr and a non-zero exit status, never a
traceback.
"""

import argparse
import http.client
import os
import sys
import time
import xmlrpc.client

import remotetask
from remotetask.clisupport import (  # noqa: F401  (CommandError & co.)
    DEFAULT_URL, EXIT_FAILED, EXIT_OUTPUT_CLOSED, EXIT_UNREACHABLE,
    EXIT_USAGE, FINISHED, STATUSES, CommandError, GuardedOutput,
    OutputClosed, dumps, intList, jobIdArgument, ProgressLine, localTime,
    pageLimit, parseJSON, positiveInt, positiveSeconds, progressText,
    scheduleText, showEvents, statusText)
from remotetask.cliserver import (
    checkURL, connect, refusal, shownURL, untrusted)
from remotetask.clitokens import addTokenCommands
from remotetask.core.bounds import MAX_PAGE


# The client subcommands. Each takes the server proxy and the arguments.

def cmdTasks(server, args):
    tasks = server.getTaskDescriptions()
    if not tasks:
        print('This server has no tasks (start it with --examples, or '
              'declare some).')
    width = max(map(len, tasks), default=0)
    for name in sorted(tasks):
        print(f'{name:<{width}}  {tasks[name]}'.rstrip())


def cmdAdd(server, args):
    if args.timeout is not None and not args.wait:
        raise CommandError('--timeout is how long --wait waits: give '
                           '--wait too (the task\'s own timeout is set by '
                           'the server)', EXIT_USAGE)
    options = {name: value for name, value in (
        ('priority', args.priority), ('key', args.key),
        ('delay', args.delay), ('maxAttempts', args.max_attempts),
        ('notify', args.notify), ('after', args.after),
        ('onFailure', args.on_failure), ('pass', args.pass_results or None))
        if value is not None}
    if options:
        options['startLater'] = args.start_later
    # The legacy boolean when no option is given: older servers take it.
    jobid = server.add(args.task, parseJSON(args.input),
                       options or args.start_later)
    if not args.wait:
        print(jobid)
        return
    print(f'job {jobid} added; waiting', file=sys.stderr)
    reportEnd(server, jobid, waitFor(server, jobid, args.timeout))


def cmdChain(server, args):
    """Add the steps of a JSON file (a list of [task, input, options] or
    {task, input, options}) as a chain, or a group; print the ids."""
    try:
        with (sys.stdin if args.file == '-' else open(args.file)) as file:
            steps = parseJSON(file.read(), args.file)
    except OSError as error:
        raise CommandError(f'cannot read {args.file}: {error.strerror}',
                           EXIT_USAGE) from None
    if args.group:
        then = None if args.then is None else parseJSON(args.then, '--then')
        ids = server.addGroup(steps, *([] if then is None else [then]))
    else:
        ids = server.addChain(steps)
    for jobid in ids:
        print(jobid)


def cmdWait(server, args):
    reportEnd(server, args.id, waitFor(server, args.id, args.timeout))


def reportEnd(server, jobid, status):
    """Print a finished job's result, or fail with its error."""
    if status == 'completed':
        print(dumps(server.getResult(jobid)))
    elif status == 'error':
        raise CommandError(f'job {jobid} failed: {server.getError(jobid)}')
    else:
        raise CommandError(f'job {jobid} is {status}')


def waitFor(server, jobid, timeout, out=sys.stderr):
    """Wait for the job, drawing its status and progress on ``out`` as it
    goes (``ProgressLine``). At Ctrl-C, say that the job goes on."""
    started = time.monotonic()
    line = ProgressLine(out)
    status = None
    try:
        while True:
            job = server.getJob(jobid)
            # The time the status was seen, not when the read began.
            elapsed = time.monotonic() - started
            status = job['status']
            line.draw(elapsed, status, job.get('progress'))
            if status in FINISHED:
                line.end()
                return status
            left = None if timeout is None else timeout - elapsed
            if left is not None and left <= 0:
                line.end()
                raise CommandError(
                    f'job {jobid} is still {status} after {elapsed:.1f} s; '
                    f'it goes on (remotetask wait {jobid})')
            server.wait(jobid, 1 if left is None else min(1, left))
    except KeyboardInterrupt:
        line.end()
        print(f'job {jobid} goes on on the server ({status or "?"}); '
              f'"remotetask wait {jobid}" waits for it again',
              file=out, flush=True)
        raise


def cmdStatus(server, args):
    print(server.getStatus(args.id))


def cmdResult(server, args):
    job = server.getJob(args.id)
    status = job.get('status')
    ranBefore = status in ('cronjob', 'delayed') and 'output' in job
    if status == 'completed' or ranBefore:
        print(dumps(job.get('output')))
    elif status == 'error':
        raise CommandError(f'job {args.id} failed, so it has no result: '
                           f'{job.get("error")}')
    elif status == 'cancelled':
        raise CommandError(f'job {args.id} was cancelled; it has no result')
    else:
        raise CommandError(f'job {args.id} is {status}; it has no result '
                           'yet')


def cmdError(server, args):
    job = server.getJob(args.id)
    status = job.get('status')
    if job.get('error') is not None:
        print(job['error'])
    elif status in FINISHED:
        raise CommandError(f'job {args.id} is {status}; it has no error')
    else:
        raise CommandError(f'job {args.id} is {status}; it has not '
                           'finished')


def _history(entry):
    times = ' to '.join(filter(None, (localTime(entry.get('started')),
                                      localTime(entry.get('completed')))))
    return (f'attempt {entry.get("attempt")}: {entry.get("error")}'
            + (f' ({times})' if times else ''))


def _labelled(label, text):
    """``label:`` and ``text``, its further lines (indented JSON, a long
    error) indented under the first."""
    print(f'{label + ":":<11}' + str(text).replace('\n', '\n' + ' ' * 11))


def cmdShow(server, args):
    job = server.getJob(args.id)
    traceback = job.pop('traceback', None)  # members without value: absent
    if job.get('status') in FINISHED:
        # A retry's due time, or a cancelled cron job's next run: stale.
        job.pop('nextRun', None)
    for time_ in ('created', 'started', 'completed', 'nextRun'):
        job[time_] = localTime(job.get(time_)) or None
    if job.get('progress'):
        job['progress'] = progressText(job['progress'])
    if job.get('schedule'):
        job['schedule'] = scheduleText(job['schedule'])
    # after: the jobs it waits for; before: those that wait for it.
    for name, shown in (('dependencies', 'after'), ('dependents', 'before')):
        job[shown] = ', '.join(f"{other['id']} ({other['status']})"
                               for other in job.get(name, ())) or None
    for key in ('id', 'task', 'status', 'attempts', 'created', 'started',
                'completed', 'schedule', 'nextRun', 'progress', 'notify',
                'after', 'before', 'error'):
        value = job.get(key)
        if value is not None:
            _labelled(key, value if isinstance(value, (str, int))
                      else dumps(value))
    _labelled('input', dumps(job.get('input')))
    _labelled('output', dumps(job.get('output')))
    for index, entry in enumerate(job.get('history') or ()):
        print(f'{"history:" if index == 0 else "":<11}{_history(entry)}')
    showEvents(job)
    if traceback:
        print(traceback.rstrip())


def _acting(method, done):
    """A command that calls ``method(id)`` and says the job is ``done``;
    a refusal is the server's fault, saying what the job's status
    allows."""
    def command(server, args):
        getattr(server, method)(args.id)
        print(f'job {args.id} {done}')
    return command


cmdStart = _acting('startJob', 'queued')
cmdCancel = _acting('cancel', 'cancelled')
cmdRetry = _acting('retry', 'queued again')
cmdRunNow = _acting('runNow', 'is due now')


def newestJobs(server, filter, before, limit):
    """Up to ``limit`` jobs below ``before``, newest first, and whether
    there are older ones. A page of a filter no index serves may be short
    and still have a cursor: read on until the table is full."""
    jobs = []
    while True:
        # One more than is shown: whether it exists is "there are more".
        query = dict(filter, newestFirst=True,
                     limit=min(limit + 1 - len(jobs), MAX_PAGE))
        if before is not None:
            query['before'] = before
        page = server.getJobs(query)
        jobs += page.get('jobs') or []
        before = page.get('cursor')
        if len(jobs) > limit or before is None:
            return jobs[:limit], len(jobs) > limit


def cmdJobs(server, args):
    filter = {}
    if args.status:
        filter['status'] = args.status
    if args.task:
        filter['task'] = args.task
    jobs, more = newestJobs(server, filter, args.before, args.limit)
    if not jobs:
        print('no jobs', file=sys.stderr)
        return
    rows = [('ID', 'TASK', 'STATUS', 'CREATED', 'ERROR')]
    now = time.time()
    rows += [(str(job['id']), job.get('task', ''), statusText(job, now),
              localTime(job.get('created')),
              (job.get('error') or '').replace('\n', ' ')[:60])
             for job in jobs]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in
                        zip(row, widths)).rstrip())
    if more:
        again = ['remotetask', 'jobs', '--before', str(jobs[-1]['id'])]
        for option in ('status', 'task'):
            if getattr(args, option):
                again += [f'--{option}', getattr(args, option)]
        if args.limit != 100:
            again += ['--limit', str(args.limit)]
        print(f'older jobs: {" ".join(again)}', file=sys.stderr)


def cmdCron(server, args):
    schedule = {}
    for name in ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'):
        if getattr(args, name):
            schedule[name] = getattr(args, name)
    if args.crontab:
        schedule['crontab'] = args.crontab
    if args.delay is not None:
        schedule['delay'] = args.delay
    if not schedule:
        raise CommandError(
            'cron needs a schedule: --crontab, --delay, or any of --minute, '
            '--hour, --day-of-month, --month, --day-of-week', EXIT_USAGE)
    if args.misfire:
        schedule['misfire'] = args.misfire
    print(server.addCronJob(args.task, parseJSON(args.input), schedule))


def cmdClean(server, args):
    removed = server.clean(args.status or None)
    print(f'{removed} job(s) removed')


def cmdHashPassword(args):
    """Print a users-file line for ``args.user`` with a hashed password,
    asked for twice on a terminal, or read as one line from stdin."""
    import getpass
    from remotetask.wire.passwords import hashPassword
    if sys.stdin.isatty():
        password = getpass.getpass(f'Password for {args.user}: ')
        if getpass.getpass('Again: ') != password:
            raise CommandError('the passwords differ', EXIT_USAGE)
    else:
        password = sys.stdin.readline().rstrip('\r\n')
    if ':' in args.user or not args.user.strip():
        raise CommandError('a user name may not be empty or hold ":"',
                           EXIT_USAGE)
    if not password:
        raise CommandError('the password is empty', EXIT_USAGE)
    print(f'{args.user}:{hashPassword(password)}')


def cmdServe(args, rest):
    from remotetask.server.daemon.serve import serve
    return serve(rest)


def makeParser():
    parser = argparse.ArgumentParser(
        prog='remotetask',
        description='Run a remotetask server, or talk to one over XML-RPC.',
        epilog='Run "remotetask COMMAND --help" for the options of each.')
    url = os.environ.get('REMOTETASK_URL', DEFAULT_URL)
    parser.add_argument(
        '--url', default=url,
        # Its password never shown; a % in it is not a format.
        help=f'the server (env REMOTETASK_URL; default '
             f'{shownURL(url).replace("%", "%%")}); '
             'credentials in the URL or in REMOTETASK_USER and '
             'REMOTETASK_PASSWORD')
    parser.add_argument('--version', action='version',
                        version=f'remotetask {remotetask.__version__}',
                        help="print remotetask's version and exit")
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     required=True)

    def command(name, function, help, **kwargs):
        sub = commands.add_parser(name, help=help, description=help,
                                  **kwargs)
        sub.set_defaults(function=function)
        return sub

    # Its options, --help included, are the daemon's (usage.Options).
    command('serve', cmdServe, 'run the server in the foreground; '
            'every twistd remotetask option works (see serve --help)',
            add_help=False)
    command('hash-password', cmdHashPassword, 'print a --users file line '
            'with a hashed password (asked for, or one line on stdin)'
            ).add_argument('user', help='the user name the line is for')
    command('tasks', cmdTasks, 'list the tasks the server can run')
    sub = command('add', cmdAdd, 'add a job and print its id')
    sub.add_argument('task', help='the name of the task')
    sub.add_argument('--input', default='null', metavar='JSON',
                     help='the input, as JSON (default: null)')
    sub.add_argument('--start-later', action='store_true',
                     help='wait for "remotetask start ID" before running')
    sub.add_argument('--priority', type=int, metavar='N',
                     help='-100 to 100 (default 0); higher runs first')
    sub.add_argument('--key', metavar='KEY',
                     help='while an unfinished job of the task has this key, '
                          'print its id and add nothing')
    sub.add_argument('--delay', type=float, metavar='SECONDS',
                     help='wait this long before the job may start')
    sub.add_argument('--max-attempts', type=positiveInt, metavar='N',
                     help="how many times the job may start, instead of "
                          "its task's maxAttempts")
    sub.add_argument('--notify', metavar='URL',
                     help='call jobEnded(id, status) at this XML-RPC URL '
                          'when the job ends (under a prefix the server '
                          'allows with --notify-allow)')
    sub.add_argument('--after', type=intList, metavar='ID,ID',
                     help="wait, 'waiting', until these jobs have ended")
    sub.add_argument('--on-failure', choices=('cancel', 'run'),
                     help='with --after: what to do when one of them fails '
                          '(default cancel)')
    sub.add_argument('--pass', dest='pass_results', action='store_true',
                     help='with --after: the input becomes {input, results}')
    sub.add_argument('--wait', action='store_true',
                     help='wait for the job, showing progress, and print '
                          'its result')
    sub.add_argument('--timeout', type=positiveSeconds, default=None,
                     metavar='SECONDS',
                     help='with --wait: give up after this many seconds')
    sub = command('chain', cmdChain, 'add the steps of a JSON file (- for '
                  'stdin) as a chain, each waiting for the one before with '
                  'its result; print their ids')
    sub.add_argument('file', help='a JSON list of steps, each [task, input, '
                                  'options] or {task, input, options}')
    sub.add_argument('--group', action='store_true',
                     help='a group instead: the steps run side by side')
    sub.add_argument('--then', metavar='JSON',
                     help='with --group: a step that waits for them all, '
                          'with their results')
    for name, function, help in (
            ('status', cmdStatus, "print a job's status"),
            ('result', cmdResult, "print a job's result as JSON (exit "
                                  "status 1 when it has none)"),
            ('error', cmdError, "print a job's error message (exit status "
                                "1 when it has none)"),
            ('show', cmdShow, 'print everything about a job, its events '
             'included'),
            ('start', cmdStart, 'queue a job added with --start-later'),
            ('cancel', cmdCancel, 'cancel a job that has not finished; a '
                                  'running job is stopped, and a cron job '
                                  'runs no more'),
            ('retry', cmdRetry, 'queue a job that ended in error again, '
                                'with a fresh count of attempts'),
            ('run-now', cmdRunNow, 'make a cron or delayed job due now; a '
                                   'cron job then keeps its schedule')):
        command(name, function, help).add_argument(
            'id', type=jobIdArgument, help='the job id')
    sub = command('wait', cmdWait, 'wait for a job, showing its progress, '
                  'and print its result (Ctrl-C stops waiting, not the job)')
    sub.add_argument('id', type=jobIdArgument, help='the job id')
    sub.add_argument('--timeout', type=positiveSeconds, default=None,
                     help='give up waiting after this many seconds')
    sub = command('jobs', cmdJobs, 'list jobs in a table, newest first')
    sub.add_argument('--status', choices=STATUSES, metavar='STATUS',
                     help='only jobs in this status: '
                          f'{", ".join(STATUSES)}')
    sub.add_argument('--task', help='only jobs of this task')
    sub.add_argument('--limit', type=pageLimit, default=100,
                     help='at most this many (default 100, at most '
                          f'{MAX_PAGE})')
    sub.add_argument('--before', type=jobIdArgument, metavar='ID',
                     help='only jobs older than this one (the next page)')
    sub = command('cron', cmdCron, 'add a job that runs on a schedule',
                  epilog='Runs set with --minute, --hour and the other fields '
                         'keep the seconds of the moment the job was added, as '
                         "lovely.remotetask's did: added at 14:16:57, --minute "
                         '30 runs at :30:57. A --crontab schedule runs at '
                         'second 0.')
    sub.add_argument('task', help='the name of the task')
    sub.add_argument('--input', default='null', metavar='JSON',
                     help='the input of every run, as JSON (default: null)')
    for option, name, what in (
            ('--minute', 'minute', '0-59'), ('--hour', 'hour', '0-23'),
            ('--day-of-month', 'dayOfMonth', '1-31'),
            ('--month', 'month', '1-12'),
            ('--day-of-week', 'dayOfWeek', '0-6, 0 = Monday')):
        sub.add_argument(option, dest=name, type=intList, metavar='N,N',
                         help=f'comma-separated ({what})')
    sub.add_argument('--crontab', metavar="'M H DOM MON DOW'",
                     help="a crontab schedule, e.g. '*/5 * * * 1-5'")
    sub.add_argument('--delay', type=positiveSeconds, metavar='SECONDS',
                     help='run once, this many seconds from now')
    sub.add_argument('--misfire', choices=('once', 'skip'),
                     help='due times missed while no server ran the job: '
                          'once (the default) runs it once for all of '
                          'them, skip waits for the next')
    sub = command('clean', cmdClean, 'remove finished jobs')
    sub.add_argument('--status', action='append',
                     choices=FINISHED, help='only these (repeatable)')
    addTokenCommands(command)
    return parser


def _local(parser, args, rest):
    """Run a subcommand that needs no server."""
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    try:
        args.function(args)
    except CommandError as error:
        print(f'remotetask: {error}', file=sys.stderr)
        return error.status
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = makeParser()
    args, rest = parser.parse_known_args(argv)
    if args.command == 'serve':
        return cmdServe(args, rest)
    if args.command == 'hash-password':
        return _local(parser, args, rest)
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    stdout, sys.stdout = sys.stdout, GuardedOutput(sys.stdout)
    try:
        return run(args)
    except OutputClosed:
        # Nothing more can be said there, and Python's own flush at exit
        # would complain: send what is left nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
        return EXIT_OUTPUT_CLOSED
    finally:
        sys.stdout = stdout


def run(args):
    """Run the client command ``args`` names; its exit status."""
    shown = shownURL(args.url)
    try:
        checkURL(args.url)
        args.function(connect(args), args)
        sys.stdout.flush()
    except CommandError as error:
        print(f'remotetask: {error}', file=sys.stderr)
        return error.status
    except xmlrpc.client.Fault as fault:
        print(f'remotetask: {fault.faultString} (fault {fault.faultCode})',
              file=sys.stderr)
        return EXIT_FAILED
    except xmlrpc.client.ProtocolError as error:
        print(f'remotetask: the server at {shown} answered {error.errcode} '
              f'{error.errmsg}{refusal(args.url, error.errcode)}',
              file=sys.stderr)
        return EXIT_FAILED
    except OutputClosed:
        raise
    except http.client.InvalidURL as error:
        print(f'remotetask: the server URL {shown} is not a valid URL: '
              f'{error}', file=sys.stderr)
        return EXIT_USAGE
    except (OSError, xmlrpc.client.Error) as error:
        print(f'remotetask: cannot reach the server at {shown}: '
              f'{getattr(error, "strerror", None) or error}'
              f'{untrusted(error)}', file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    return 0

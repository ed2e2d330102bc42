"""The ``remotetask`` command: run the server, or talk to one.

``remotetask serve`` runs the same service as ``twistd -n remotetask``;
every other subcommand is an XML-RPC client of a running server at
``--url``. Whatever goes wrong (server unreachable, a Fault, bad JSON),
the user gets one line on stderr and a non-zero exit status, never a
traceback.
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import sys
import time
import urllib.parse
import xmlrpc.client

DEFAULT_URL = 'http://127.0.0.1:8770/'
FINISHED = ('completed', 'error', 'cancelled')

EXIT_FAILED = 1      # the job failed, or the server refused the request
EXIT_USAGE = 2       # argparse's own code for a bad command line
EXIT_UNREACHABLE = 3


class CommandError(Exception):
    """A message for stderr, and the exit status to go with it."""

    def __init__(self, message, status=EXIT_FAILED):
        super().__init__(message)
        self.status = status


def _toJSON(value):
    if isinstance(value, bytes):
        return {'$bytes': base64.b64encode(value).decode('ascii')}
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(value):
    return json.dumps(value, indent=2, ensure_ascii=False, default=_toJSON)


def parseJSON(text, option='--input'):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f'{option} is not valid JSON: {error}',
                           EXIT_USAGE) from None


def serverURL(url, environ=os.environ):
    """``url`` with credentials from the environment when it has none."""
    parts = urllib.parse.urlsplit(url)
    user = environ.get('REMOTETASK_USER')
    if user and not parts.username:
        password = environ.get('REMOTETASK_PASSWORD', '')
        netloc = (f'{urllib.parse.quote(user, safe="")}:'
                  f'{urllib.parse.quote(password, safe="")}@{parts.netloc}')
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def connect(args):
    return xmlrpc.client.ServerProxy(serverURL(args.url), allow_none=True,
                                     use_builtin_types=True)


def _ints(text):
    try:
        return [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a comma-separated list of numbers') from None


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
    jobid = server.add(args.task, parseJSON(args.input), args.start_later)
    if not args.wait:
        print(jobid)
        return
    print(f'job {jobid} added; waiting', file=sys.stderr)
    reportEnd(server, jobid, waitFor(server, jobid, args.timeout))


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
            elapsed = time.monotonic() - started
            job = server.getJob(jobid)
            status = job['status']
            if status in FINISHED:
                line.end()
                return status
            line.draw(elapsed, status, job.get('progress'))
            left = None if timeout is None else timeout - elapsed
            if left is not None and left <= 0:
                line.end()
                raise CommandError(
                    f'job {jobid} is still {status} after {timeout:g} s; it '
                    f'goes on (remotetask wait {jobid})')
            server.wait(jobid, 1 if left is None else min(1, left))
    except KeyboardInterrupt:
        line.end()
        print(f'job {jobid} goes on on the server ({status or "?"}); '
              f'"remotetask wait {jobid}" waits for it again',
              file=out, flush=True)
        raise


class ProgressLine:
    """A job's state as it is waited for: elapsed time, status and
    progress (a bar, the percentage and the message). On a terminal one
    line is redrawn in place, cut to its width; elsewhere (a log, a pipe)
    a line is written each time the status or progress changes."""

    BAR = 20

    def __init__(self, out):
        self.out = out
        self.live = hasattr(out, 'isatty') and out.isatty()
        self.shown = None
        self.width = 0

    @staticmethod
    def text(elapsed, status, progress):
        text = f'{elapsed:7.1f} s  {status}'
        return f'{text}  {progressText(progress)}' if progress else text

    def draw(self, elapsed, status, progress):
        text = self.text(elapsed, status, progress)
        if self.live:
            columns = shutil.get_terminal_size().columns - 1
            text = text[:columns]
            self.out.write('\r' + text.ljust(self.width))
            self.width = len(text)
            self.out.flush()
            return
        changed = (status, progress and (progress['fraction'],
                                         progress.get('message')))
        if changed != self.shown:
            self.shown = changed
            print(text, file=self.out, flush=True)

    def end(self):
        """Leave the line as it is, the cursor below it."""
        if self.live and self.width:
            self.out.write('\n')
            self.out.flush()
            self.width = 0


def progressText(progress, bar=ProgressLine.BAR):
    """A progress report as a bar, its percentage and its message."""
    done = round(progress['fraction'] * bar)
    text = (f'[{"#" * done}{"-" * (bar - done)}] '
            f'{progress["fraction"] * 100:3.0f}%')
    if progress.get('message'):
        text += f'  {progress["message"]}'
    return text


def localTime(iso):
    """An ISO 8601 time from the server as this machine's local time,
    with its zone: ``2026-11-27 22:27:03 CET``."""
    if not iso:
        return ''
    moment = datetime.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')


def showEvents(job, out=sys.stdout):
    """A job's events, oldest first, one line each: when (local time),
    what, the details, and which server."""
    events = job.get('events') or []
    if not events:
        return
    print('events:', file=out)
    width = max(len(event['event']) for event in events)
    for event in events:
        details = ', '.join(
            f'{key} {value}' for key, value in event.items()
            if key not in ('at', 'event', 'server'))
        print(f'  {localTime(event["at"])}  {event["event"]:<{width}}  '
              f'{details + "  " if details else ""}({event["server"]})'
              .rstrip(), file=out)


def cmdStatus(server, args):
    print(server.getStatus(args.id))


def cmdResult(server, args):
    print(dumps(server.getResult(args.id)))


def cmdError(server, args):
    error = server.getError(args.id)
    print('' if error is None else error)


def cmdShow(server, args):
    job = server.getJob(args.id)
    traceback = job.pop('traceback', None)  # members without value: absent
    for time_ in ('created', 'started', 'completed', 'nextRun'):
        job[time_] = localTime(job.get(time_)) or None
    if job.get('progress'):
        job['progress'] = progressText(job['progress'])
    for key in ('id', 'task', 'status', 'attempts', 'created', 'started',
                'completed', 'schedule', 'nextRun', 'progress', 'notify',
                'error'):
        value = job.get(key)
        if value is not None:
            shown = value if isinstance(value, (str, int)) else dumps(value)
            print(f'{key + ":":<11}{shown}')
    print(f'{"input:":<11}{dumps(job.get("input"))}')
    print(f'{"output:":<11}{dumps(job.get("output"))}')
    showEvents(job)
    if traceback:
        print(traceback.rstrip())


def cmdCancel(server, args):
    server.cancel(args.id)
    print(f'job {args.id} cancelled')


def cmdJobs(server, args):
    filter = {'limit': args.limit}
    if args.status:
        filter['status'] = args.status
    if args.task:
        filter['task'] = args.task
    jobs = server.getJobs(filter)['jobs']
    rows = [('ID', 'TASK', 'STATUS', 'CREATED', 'ERROR')]
    rows += [(str(job['id']), job['task'], job['status'],
              localTime(job.get('created')),
              (job.get('error') or '')[:60]) for job in jobs]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in
                        zip(row, widths)).rstrip())


def cmdCron(server, args):
    schedule = {}
    for name in ('minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'):
        if getattr(args, name):
            schedule[name] = getattr(args, name)
    if args.crontab:
        schedule['crontab'] = args.crontab
    if args.delay is not None:
        schedule['delay'] = args.delay
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
    from remotetask.server.serve import serve
    return serve(rest)


def makeParser():
    parser = argparse.ArgumentParser(
        prog='remotetask',
        description='Run a remotetask server, or talk to one over XML-RPC.',
        epilog='Run "remotetask COMMAND --help" for the options of each.')
    parser.add_argument(
        '--url', default=os.environ.get('REMOTETASK_URL', DEFAULT_URL),
        help='the server (env REMOTETASK_URL; default %(default)s); '
             'credentials in the URL or in REMOTETASK_USER and '
             'REMOTETASK_PASSWORD')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND',
                                     required=True)

    def command(name, function, help):
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(function=function)
        return sub

    command('serve', cmdServe, 'run the server in the foreground; '
            'every twistd remotetask option works (see serve --help)')
    command('hash-password', cmdHashPassword, 'print a --users file line '
            'with a hashed password (asked for, or one line on stdin)'
            ).add_argument('user')
    command('tasks', cmdTasks, 'list the tasks the server can run')
    sub = command('add', cmdAdd, 'add a job and print its id')
    sub.add_argument('task')
    sub.add_argument('--input', default='null', metavar='JSON',
                     help='the input, as JSON (default: null)')
    sub.add_argument('--start-later', action='store_true',
                     help='wait for "remotetask start" ... before running')
    sub.add_argument('--wait', action='store_true',
                     help='wait for the job, showing progress, and print '
                          'its result')
    sub.add_argument('--timeout', type=float, default=None,
                     help='with --wait: give up after this many seconds')
    for name, function, help in (
            ('status', cmdStatus, "print a job's status"),
            ('result', cmdResult, "print a job's result as JSON"),
            ('error', cmdError, "print a job's error message"),
            ('show', cmdShow, 'print everything about a job, its events '
             'included'),
            ('cancel', cmdCancel, 'cancel a job that has not started')):
        command(name, function, help).add_argument('id', type=int)
    sub = command('wait', cmdWait, 'wait for a job, showing its progress, '
                  'and print its result (Ctrl-C stops waiting, not the job)')
    sub.add_argument('id', type=int)
    sub.add_argument('--timeout', type=float, default=None,
                     help='give up waiting after this many seconds')
    sub = command('jobs', cmdJobs, 'list jobs in a table')
    sub.add_argument('--status', help='only jobs in this status')
    sub.add_argument('--task', help='only jobs of this task')
    sub.add_argument('--limit', type=int, default=100,
                     help='at most this many (default 100, at most 1000)')
    sub = command('cron', cmdCron, 'add a job that runs on a schedule')
    sub.add_argument('task')
    sub.add_argument('--input', default='null', metavar='JSON')
    for option, name, what in (
            ('--minute', 'minute', '0-59'), ('--hour', 'hour', '0-23'),
            ('--day-of-month', 'dayOfMonth', '1-31'),
            ('--month', 'month', '1-12'),
            ('--day-of-week', 'dayOfWeek', '0-6, 0 = Monday')):
        sub.add_argument(option, dest=name, type=_ints, metavar='N,N',
                         help=f'comma-separated ({what})')
    sub.add_argument('--crontab', metavar="'M H DOM MON DOW'",
                     help="a crontab schedule, e.g. '*/5 * * * 1-5'")
    sub.add_argument('--delay', type=float,
                     help='run once, this many seconds from now')
    sub = command('clean', cmdClean, 'remove finished jobs')
    sub.add_argument('--status', action='append',
                     choices=FINISHED, help='only these (repeatable)')
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
    try:
        args.function(connect(args), args)
    except CommandError as error:
        print(f'remotetask: {error}', file=sys.stderr)
        return error.status
    except xmlrpc.client.Fault as fault:
        print(f'remotetask: {fault.faultString} (fault {fault.faultCode})',
              file=sys.stderr)
        return EXIT_FAILED
    except xmlrpc.client.ProtocolError as error:
        hint = ('; give credentials in the URL or REMOTETASK_USER and '
                'REMOTETASK_PASSWORD' if error.errcode == 401 else '')
        print(f'remotetask: the server at {args.url} answered '
              f'{error.errcode} {error.errmsg}{hint}', file=sys.stderr)
        return EXIT_FAILED
    except (OSError, xmlrpc.client.Error) as error:
        print(f'remotetask: cannot reach the server at {args.url}: '
              f'{getattr(error, "strerror", None) or error}', file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    return 0

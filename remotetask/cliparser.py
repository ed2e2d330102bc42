"""The command line of ``remotetask``: every subcommand, its arguments
and its help, each naming the function of ``clicommands`` (or
``clitokens``) that runs it."""

import argparse
import os

import remotetask
from remotetask.clicommands import (
    cmdAdd, cmdCancel, cmdChain, cmdClean, cmdCron, cmdError,
    cmdHashPassword, cmdJobs, cmdResult, cmdRetry, cmdRunNow, cmdServe,
    cmdShow, cmdStart, cmdStatus, cmdTasks, cmdWait)
from remotetask.cliserver import shownURL
from remotetask.clisupport import (
    DEFAULT_URL, FINISHED, STATUSES, intList, jobIdArgument, pageLimit,
    positiveInt, positiveSeconds)
from remotetask.clitokens import addTokenCommands
from remotetask.core.bounds import MAX_PAGE


def makeParser():
    """The parser of the whole command line; each subcommand's arguments
    hold ``function``, what runs it."""
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
    _addAddingCommands(command)
    _addJobCommands(command)
    _addCronCommand(command)
    sub = command('clean', cmdClean, 'remove finished jobs')
    sub.add_argument('--status', action='append',
                     choices=FINISHED, help='only these (repeatable)')
    addTokenCommands(command)
    return parser


def _addAddingCommands(command):
    """``add`` and ``chain``, through ``command(name, function, help)``."""
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
                     default=None,
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


def _addJobCommands(command):
    """The commands about jobs already added: one by id, or a list."""
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


def _addCronCommand(command):
    """``cron``: its schedule as fields, a crontab or a delay."""
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

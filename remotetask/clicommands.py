"""What each subcommand of ``remotetask`` does, once its arguments are
parsed (``cliparser``): the client commands take the server's XML-RPC
proxy and the arguments, print what the user asked for and raise
``CommandError`` for what went wrong; ``hash-password`` and ``serve``
need no server and take the arguments alone."""

import re
import sys
import time

from remotetask.clisupport import (
    EXIT_USAGE, FINISHED, CommandError, ProgressLine, dumps, localTime,
    parseJSON, progressText, scheduleText, showEvents, statusText)
from remotetask.core.addoptions import ADD_OPTIONS
from remotetask.core.bounds import MAX_PAGE


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
    options = {option.name: value for option, value in addOptions(args)
               if value is not None and option.name != 'startLater'}
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


def addOptions(args):
    """``(option, value)`` of each of add's options (``ADD_OPTIONS``)
    from ``args``: each is given as the option named after its keyword
    (``--max-attempts`` for maxAttempts, ``--pass`` for passResults), and
    is None when not given."""
    return [(option, getattr(args, _dest(option.keyword)))
            for option in ADD_OPTIONS]


def _dest(keyword):
    """The argparse ``dest`` of an option of add: ``maxAttempts`` is
    ``max_attempts``."""
    return re.sub('([A-Z])', lambda upper: '_' + upper[1].lower(), keyword)


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

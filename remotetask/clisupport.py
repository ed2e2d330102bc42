"""What the command line client is made of besides its commands: its
exit statuses, argument types, JSON input and output, how jobs are
shown, and standard output that may be closed under it. The server's
URL and credentials are ``cliserver``'s."""

import argparse
import base64
import datetime
import json
import re
import shutil
import sys

from remotetask.core.bounds import MAX_INT, MAX_JOB_ID, MAX_PAGE, MIN_INT
from remotetask.core.status import FINISHED as ENDED, Status

DEFAULT_URL = 'http://127.0.0.1:8770/'
#: The statuses as words, in the order the help lists them.
STATUSES = tuple(each.value for each in Status)
#: Those of jobs that will not run again (the core's FINISHED), in order.
FINISHED = tuple(name for name in STATUSES if name in ENDED)

EXIT_FAILED = 1      # the job failed, or the server refused the request
EXIT_USAGE = 2       # argparse's own code for a bad command line
EXIT_UNREACHABLE = 3
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, as for a program it killed


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
    """The JSON ``text`` of ``option``; a usage error unless it is JSON
    that XML-RPC can carry."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f'{option} is not valid JSON: {error}',
                           EXIT_USAGE) from None
    except RecursionError:
        raise CommandError(f'{option} is nested too deeply', EXIT_USAGE) \
            from None
    checkCarriable(value, option)
    return value


#: The characters XML 1.0 has no way to write, and so no XML-RPC string.
_UNWRITABLE = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff'
                         '\ufffe\uffff]')


def _checkText(text, where):
    found = _UNWRITABLE.search(text)
    if found:
        raise CommandError(
            f'{where} holds the character U+{ord(found[0]):04X}, which '
            'XML-RPC cannot carry (XML has no way to write it); remove it, '
            'or send the text encoded (base64, for one)', EXIT_USAGE)


def checkCarriable(value, where):
    """A usage error naming the first part of ``value`` (a JSON value)
    that XML-RPC cannot carry: a whole number beyond 32 bits, or text
    with a control character. The server would refuse them too, but in
    terms of XML the user never wrote, or the client would raise."""
    pending = [(where, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, dict):
            for key in item:
                _checkText(key, f'the member name {json.dumps(key)} in '
                                f'{path}')
            pending += reversed([(f'{path}[{json.dumps(key)}]', member)
                                 for key, member in item.items()])
        elif isinstance(item, list):
            pending += reversed([(f'{path}[{index}]', member)
                                 for index, member in enumerate(item)])
        elif isinstance(item, str):
            _checkText(item, path)
        elif (isinstance(item, int) and not isinstance(item, bool)
              and not MIN_INT <= item <= MAX_INT):
            raise CommandError(
                f'{path} is {item}, beyond the whole numbers XML-RPC '
                f'carries (from {MIN_INT} to {MAX_INT}); send it as '
                f'a string, or as a number with a point ({item}.0)',
                EXIT_USAGE)


class OutputClosed(Exception):
    """Whoever read the output stopped reading (``remotetask jobs | head
    -1``)."""


class GuardedOutput:
    """Standard output whose closing is an ``OutputClosed``, told apart
    from a connection to the server that broke (also a BrokenPipeError)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise OutputClosed() from None

    def flush(self):
        try:
            return self._stream.flush()
        except BrokenPipeError:
            raise OutputClosed() from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def jobIdArgument(text):
    """A job id on the command line: a whole number XML-RPC can carry."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a job id (a whole number)') from None
    if not 1 <= value <= MAX_JOB_ID:
        raise argparse.ArgumentTypeError(
            f'{text} is not a job id: ids are from 1 to {MAX_JOB_ID}')
    return value


def positiveSeconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of seconds') from None
    if not 0 < value < float('inf'):
        raise argparse.ArgumentTypeError(
            f'{text} must be a number of seconds above 0')
    return value


def _wholeNumber(most):
    """An argument type: a whole number from 1 to ``most``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(
                f'{text!r} must be a whole number from 1 to {most}')
        return value
    return parse


positiveInt = _wholeNumber(MAX_INT)
pageLimit = _wholeNumber(MAX_PAGE)


def intList(text):
    try:
        return [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a comma-separated list of numbers') from None


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


def scheduleText(schedule):
    """A cron or delayed job's schedule (getJob's struct) in words, as
    the dashboard says it: ``every 5 minutes (crontab */5 * * * *)``."""
    from remotetask.core import cron
    fields = {name: value for name, value in schedule.items()
              if name not in ('crontab', 'delay', 'misfire')}
    try:
        words = cron.describeRuns(
            cron.makeSchedule(crontab=schedule.get('crontab'), **fields),
            schedule.get('delay'), schedule.get('misfire') == 'skip')
    except (TypeError, ValueError):
        return dumps(schedule)  # from a server that knows more kinds
    crontab = schedule.get('crontab')
    return f'{words} (crontab {crontab})' if crontab else words


def dueIn(seconds):
    """How long until a job is due, in the words a list shows: ``59
    min``, ``30 s``, ``5 h 3 min``, ``3 days``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f'{seconds} s'
    if seconds < 3600:
        return f'{seconds // 60} min'
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f'{hours} h {minutes} min' if minutes else f'{hours} h'
    return f'{seconds // 86400} days'


def statusText(job, now):
    """A job's status for a list: a queued job not yet due (added with a
    delay, or waiting to be retried) says when it is, ``queued, due in
    59 min``; ``now``: epoch seconds."""
    status = job.get('status', '')
    if status != 'queued' or not job.get('nextRun'):
        return status
    due = datetime.datetime.fromisoformat(job['nextRun'])
    if due.tzinfo is None:
        due = due.replace(tzinfo=datetime.timezone.utc)
    left = due.timestamp() - now
    return f'{status}, due in {dueIn(left)}' if left >= 1 else status


def localTime(value):
    """A time from the server (ISO 8601 text, or epoch seconds in a job's
    history) as this machine's local time, with its zone:
    ``2026-11-27 22:27:03 CET``; an operator reads times in the zone
    his own clock and logs use."""
    if value is None or value == '':
        return ''
    if isinstance(value, (int, float)):
        moment = datetime.datetime.fromtimestamp(value,
                                                 datetime.timezone.utc)
    else:
        moment = datetime.datetime.fromisoformat(value)
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

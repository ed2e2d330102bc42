"""What the command line client is made of besides its commands: its
exit statuses, argument types, the server's URL and credentials, JSON
output, and standard output that may be closed under it."""

import argparse
import base64
import datetime
import json
import os
import urllib.parse
import xmlrpc.client

from remotetask.core.status import Status

DEFAULT_URL = 'http://127.0.0.1:8770/'
FINISHED = ('completed', 'error', 'cancelled')
STATUSES = tuple(status.value for status in Status)
#: The largest int XML-RPC carries, and so the largest job id.
MAX_INT = 2 ** 31 - 1
#: The most jobs getJobs answers at once.
MAX_PAGE = 1000

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
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f'{option} is not valid JSON: {error}',
                           EXIT_USAGE) from None


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


def shownURL(url):
    """``url`` as it may be printed: without a password."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.netloc.rpartition('@')[0].partition(':')[0]
    host = parts.netloc.rpartition('@')[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f'{user}@{host}'))


def checkURL(url):
    """A usage error unless ``url`` is an http:// or https:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ('http', 'https') and parts.netloc:
        return
    if '://' not in url:
        raise CommandError(
            f'the server URL {shownURL(url)} has no scheme; write --url '
            f'http://{url.rstrip("/")}/ (or https://)', EXIT_USAGE)
    raise CommandError(
        f'the server URL {shownURL(url)} is not http:// or https://',
        EXIT_USAGE)


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


def jobIdArgument(text):
    """A job id on the command line: a whole number XML-RPC can carry."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a job id (a whole number)') from None
    if not 1 <= value <= MAX_INT:
        raise argparse.ArgumentTypeError(
            f'{text} is not a job id: ids are from 1 to {MAX_INT}')
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


def pageLimit(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PAGE:
        raise argparse.ArgumentTypeError(
            f'{text!r} must be a whole number from 1 to {MAX_PAGE}')
    return value


def intList(text):
    try:
        return [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a comma-separated list of numbers') from None


def shownTime(value):
    """A time of the wire (ISO 8601 text, or epoch seconds in a job's
    history) as 'YYYY-MM-DD HH:MM:SS' in UTC."""
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(
            value, datetime.timezone.utc).isoformat()
    return value[:19].replace('T', ' ') if value else ''


def refusal(url, errcode):
    """What to do about a refusal: for a 401, whose credentials were
    refused (never the password), or where to give them."""
    if errcode != 401:
        return ''
    user = urllib.parse.urlsplit(serverURL(url)).username
    if user:
        return (f'; the user {urllib.parse.unquote(user)!r} and the '
                'password given were refused')
    return ('; give credentials in the URL or REMOTETASK_USER and '
            'REMOTETASK_PASSWORD')

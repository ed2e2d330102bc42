"""Completion calls: which URLs a job may ask to be told at, and when a
call that failed is tried again.

A job added with ``notify=URL`` owes, when it ends, a call of the XML-RPC
method ``jobEnded(id, status)`` at URL (``remotetask.server.pipeline.notifier``
makes it). So that the server cannot be turned against the hosts around
it, only URLs under a prefix the operator allowed (``--notify-allow``;
none by default) are accepted, and only http and https without
credentials in them. A prefix is matched on the URL's parts, not on its
text: ``http://hooks.example`` allows ``http://hooks.example/any/path``
but neither ``http://hooks.example.evil.org/`` nor
``http://hooks.example@evil.org/``; a prefix with a path allows that path
and what is below it. A URL whose path holds a dot-segment (``..``, plain
or percent-encoded) or that holds a character other than printable ASCII
is refused before it is matched (``refuseUnclean``).

A call that fails is tried again after ``BACKOFF`` seconds, doubling up to
``MAX_BACKOFF``, until ``retryTime`` seconds after the job ended; a last
attempt is made at that moment, and then the call is given up.
"""

from urllib.parse import unquote, urlsplit

from remotetask.errors import InvalidArgument

#: Seconds before the second attempt at a call; doubling from there.
BACKOFF = 1.0
#: The longest wait between two attempts at a call.
MAX_BACKOFF = 300.0
#: How long after the end a call is tried (``--notify-retry-time``).
RETRY_TIME = 3600.0
#: The longest notify URL accepted.
MAX_URL = 2000

OPTION = '--notify-allow'


def _parts(url):
    """``(scheme, host:port, path)`` of an http(s) URL, lower-cased where
    case does not matter; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ('http', 'https') or not parts.hostname:
        raise ValueError('it is not an http or https URL')
    if parts.username is not None or parts.password is not None:
        raise ValueError('it holds credentials')
    port = parts.port  # ValueError for a port that is not a number
    netloc = parts.hostname.lower() + ('' if port is None else f':{port}')
    return parts.scheme.lower(), netloc, parts.path or '/'


def parsePrefix(text):
    """A ``--notify-allow`` value as kept for ``allowed``; ValueError
    saying why it is not one."""
    try:
        scheme, netloc, path = _parts(text)
    except ValueError as error:
        raise ValueError(f'{text!r} cannot be a prefix: {error} (e.g. '
                         'http://127.0.0.1:9000/hooks/)') from None
    if urlsplit(text).query or urlsplit(text).fragment:
        raise ValueError(f'{text!r} cannot be a prefix: it has a query or '
                         'fragment')
    return scheme, netloc, path


def allowed(url, prefixes):
    """Whether ``url`` falls under one of ``prefixes`` (``parsePrefix``
    values)."""
    try:
        scheme, netloc, path = _parts(url)
    except ValueError:
        return False
    for allowedScheme, allowedNetloc, allowedPath in prefixes:
        if (scheme, netloc) != (allowedScheme, allowedNetloc):
            continue
        if path == allowedPath or allowedPath.endswith('/') and \
                path.startswith(allowedPath) or \
                path.startswith(allowedPath + '/'):
            return True
    return False


def checkURL(url, prefixes):
    """Refuse (``InvalidArgument``, fault 3) a notify URL outside the
    allowed ``prefixes``, naming the option that allows more."""
    if not isinstance(url, str):
        raise InvalidArgument(
            f'notify must be a URL (a string), not {type(url).__name__}.')
    if len(url) > MAX_URL:
        raise InvalidArgument(
            f'notify must be a URL of at most {MAX_URL} characters.')
    refuseUnclean(url)
    if not allowed(url, prefixes):
        raise InvalidArgument(
            f'notify URL {url[:200]!r} is not allowed on this server: the '
            f'operator allows completion calls only to URLs under a prefix '
            f'given with {OPTION} PREFIX (none by default).')
    return url


def refuseUnclean(url):
    """Refuse a URL that could mean another than it reads, before it is
    matched against the prefixes: one holding a character that is not
    printable ASCII (a control character would be written raw into the
    log, and no such URL can be called), and one whose path holds a
    dot-segment, plain or percent-encoded (``/hooks/../admin``,
    ``/hooks/%2e%2e/admin``): the receiving server may resolve it to a
    path outside the prefix allowed."""
    bad = next((c for c in url if not ' ' < c < '\x7f'), None)
    if bad is not None:
        raise InvalidArgument(
            f'notify URL {url[:200]!r} holds the character {bad!r}; a URL '
            'holds printable ASCII only (percent-encode the rest).')
    path = unquote(urlsplit(url).path, errors='replace')
    if any(segment in ('.', '..')
           for segment in path.replace('\\', '/').split('/')):
        raise InvalidArgument(
            f'notify URL {url[:200]!r} has a "." or ".." segment in its '
            'path (perhaps percent-encoded), which a server may resolve '
            'to a path outside the prefix allowed; give the path as it is '
            'meant.')


def nextDue(attempts, since, now, retryTime, backoff=BACKOFF,
            maxBackoff=MAX_BACKOFF):
    """When to try again a call that failed at ``now`` for the
    ``attempts``-th time (from 1), for a job that ended at ``since``; None
    to give it up (``retryTime`` has passed)."""
    deadline = since + retryTime
    if now >= deadline:
        return None
    delay = min(maxBackoff, backoff * 2 ** (attempts - 1))
    return min(now + delay, deadline)

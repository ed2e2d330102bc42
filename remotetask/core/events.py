"""A job's history as its caller sees it: what happened to it, when, and
on which server.

Each event is a small JSON object, ``{"at": epoch, "event": name,
"server": name, ...details}``, built here and kept by the store in the
job's row (``events``, a JSON array, oldest first), appended by the very
statement that makes the change it records: an event is committed with
its change or not at all, and goes when the job is removed.

The history is bounded: a job keeps at most ``MAX_EVENTS`` events. When a
new one would pass the bound, the oldest after the first (``added``) is
dropped, so that a job shows how it began and the latest of its life (a
cron job that runs every minute, a completion call retried for an hour).
A detail's text (an error message, a reason) is cut to ``MAX_DETAIL``
characters.
"""

import json
import os
import socket

from remotetask.core.codec import compactJSON

#: How many events a job keeps (see the module docstring for which go).
MAX_EVENTS = 100
#: The longest text of one detail of an event.
MAX_DETAIL = 200

ADDED = 'added'
STARTED = 'started'
RETRIED = 'retried'
ENDED = 'ended'
PUT_BACK = 'put back'
CANCELLED = 'cancelled'
QUEUED = 'queued'
NOTIFIED = 'notified'
NOTIFY_FAILED = 'notify failed'
RUN_NOW = 'run now'

#: Why a run was put back in the queue (the ``why`` of a put-back).
SHUTDOWN = 'the server stopped'
CRASH = 'recovered after a crash of its server'
LOST_SERVER = 'its server was lost (no heartbeat)'

_HOST = socket.gethostname()
_encode = compactJSON(ensureAscii=False)

#: The fewest characters an event's text takes (``make`` always writes
#: its time, name and server): a stored array of events holds no more
#: than its length over this, which a store can test without reading it.
SHORTEST = len(_encode(dict(at=0, event='', server='')))


_names = {}


def serverName():
    """``host:pid``: this process, for events on a store that one server
    holds (a shared store's servers use their ``serverId``). Asked for
    by every event, so made once (``getpid`` is a system call); a forked
    child makes its own."""
    name = _names.get('name')
    if name is None:
        name = _names['name'] = f'{_HOST}:{os.getpid()}'
    return name


os.register_at_fork(after_in_child=_names.clear)


def cut(text):
    """``text`` no longer than ``MAX_DETAIL`` characters."""
    if text is None or len(text) <= MAX_DETAIL:
        return text
    return text[:MAX_DETAIL - 1] + '…'


def make(name, now, server, **details):
    """The JSON text of one event; details that are None are left out,
    text details are cut to ``MAX_DETAIL``."""
    event = dict(at=now, event=name, server=server)
    for key, value in details.items():
        if value is not None:
            event[key] = cut(value) if isinstance(value, str) else value
    return _encode(event)


def append(events, event, keep=MAX_EVENTS):
    """The JSON text of ``events`` (a stored array, or None) with
    ``event`` (JSON text, or None: nothing) appended, holding at most
    ``keep`` events: the first, and the latest. What the SQL stores do in
    their statements (SQLite's ``appendEvent`` falls back on it near the
    bound)."""
    if event is None:
        return events
    found = json.loads(events) if events else []
    found.append(json.loads(event))
    if len(found) > keep:
        del found[1:len(found) - keep + 1]
    return _encode(found)


def decode(events):
    """The stored ``events`` as a list of dicts (empty when None)."""
    return json.loads(events) if events else []

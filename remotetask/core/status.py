"""The job statuses.

The values are the strings lovely.remotetask and z3c.taskqueue used, so a
``Status`` compares equal to the old constants and is stored and sent over
the wire as that plain string. It also shows as that string: ``repr()``
is the plain string's (``'queued'``), so a status at the prompt, in a log
line or inside a printed list or dict reads as it did with the originals,
and their doctests print the same.
"""

import enum


class Status(enum.StrEnum):
    QUEUED = 'queued'
    PROCESSING = 'processing'
    COMPLETED = 'completed'
    ERROR = 'error'
    CANCELLED = 'cancelled'
    CRONJOB = 'cronjob'
    DELAYED = 'delayed'
    STARTLATER = 'start later'
    WAITING = 'waiting'

    def __repr__(self):
        return repr(self.value)


QUEUED = Status.QUEUED
PROCESSING = Status.PROCESSING
COMPLETED = Status.COMPLETED
ERROR = Status.ERROR
CANCELLED = Status.CANCELLED
CRONJOB = Status.CRONJOB
DELAYED = Status.DELAYED
STARTLATER = Status.STARTLATER
WAITING = Status.WAITING

#: Jobs in these states will not run again; ``clean()`` may remove them.
FINISHED = frozenset({COMPLETED, ERROR, CANCELLED})

#: Jobs in these states have not started and may still be cancelled.
CANCELLABLE = frozenset({QUEUED, STARTLATER, DELAYED, CRONJOB, WAITING})

#: Jobs in these states will run, or run again: a job may wait for them
#: (``after``) only if it could end.
UNFINISHED = frozenset({QUEUED, PROCESSING, STARTLATER, DELAYED, WAITING})

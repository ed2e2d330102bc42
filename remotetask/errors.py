"""The errors remotetask raises, each with its XML-RPC fault code.

Every error a caller can cause is a ``RemoteTaskError``. Its class docstring
is its default message, written for the person who will read it in a log or
a terminal; ``faultCode`` is the stable number an XML-RPC client sees. The
translation to ``xmlrpc.client.Fault`` lives in ``remotetask.wire.faults`` and uses
only these two attributes, so adding an error here is enough to publish it.
"""

import inspect


class RemoteTaskError(Exception):
    """The task server could not do what was asked."""

    faultCode = 9

    def __init__(self, message=None):
        if message is None:
            message = inspect.cleandoc(type(self).__doc__)
        super().__init__(message)

    @property
    def message(self):
        return self.args[0]

    def __str__(self):
        # KeyError would otherwise show repr(message), quotes and all.
        return self.args[0]


class NoSuchTask(RemoteTaskError, ValueError):
    """There is no task by that name on this server."""

    faultCode = 1

    @classmethod
    def named(cls, name, available=()):
        names = ', '.join(sorted(available)) or 'none'
        return cls(f'There is no task named {name!r} on this server '
                   f'(available: {names}).')


class NoSuchJob(RemoteTaskError, KeyError):
    """There is no job with that id (it may have been cleaned up)."""

    faultCode = 2

    @classmethod
    def withId(cls, jobid):
        return cls(f'There is no job with id {jobid!r} '
                   '(it may have been cleaned up).')


class InvalidArgument(RemoteTaskError, ValueError):
    """An argument was not valid for this call."""

    faultCode = 3


class UnstorableValue(RemoteTaskError, TypeError):
    """The value cannot be stored faithfully by the job store."""

    faultCode = 4


class NotAllowed(RemoteTaskError):
    """The job is not in a state that allows this."""

    faultCode = 5

    @classmethod
    def inStatus(cls, jobid, status, action, allowed):
        """``jobid``, in ``status``, cannot be ``action`` ('started'):
        only a job in one of the statuses ``allowed`` can."""
        names = sorted(f"'{name}'" for name in map(str, allowed))
        which = ', '.join(names[:-1]) + ' or ' if len(names) > 1 else ''
        return cls(f"Job {jobid}'s status is '{status}', so it cannot be "
                   f'{action}: only a job whose status is {which}'
                   f'{names[-1]} can.')

    @classmethod
    def keyHeld(cls, jobid, holder):
        return cls(f'Job {jobid} cannot be queued again while job {holder} '
                   f'of its task, with the same key, has not finished.')


class StoreUnavailable(RemoteTaskError):
    """The job store is not available right now; nothing was changed, so
    try again shortly."""

    faultCode = 6

    #: True when a kept connection was found dead before anything was sent
    #: to commit: the call may be tried again at once on a new connection.
    connectionLost = False


class StoreOutcomeUnknown(StoreUnavailable):
    """The job store was lost while it committed this change: it may or
    may not have been saved. Check before trying again (an add with a
    key is safe to repeat)."""

    faultCode = 10


class ServerBusy(RemoteTaskError):
    """The server is at one of its limits right now; try again shortly."""

    faultCode = 11


class AnswerTooLarge(RemoteTaskError):
    """The answer would be larger than this server sends; ask for less (a
    smaller page, fewer calls in one multicall)."""

    faultCode = 12

    @classmethod
    def over(cls, limit, what='The answer'):
        return cls(f'{what} would be larger than {limit} bytes, which is '
                   'as much as this answer may take (see '
                   '--max-answer-size); ask for less.')


class RequestTooLarge(RemoteTaskError):
    """The request is larger than this server accepts."""

    faultCode = 7


class NotAuthorised(RemoteTaskError):
    """Valid credentials are required for this server."""

    faultCode = 8


class NotPermitted(RemoteTaskError):
    """Your role on this server does not allow this."""

    faultCode = 13

    @classmethod
    def doing(cls, what, user):
        return cls(f'not allowed: {what}, for {user}')


class InternalError(RemoteTaskError):
    """The server failed on this request; the details are in its log."""

    faultCode = 9


class StoreLocked(StoreUnavailable):
    """The job store is in use by another server."""

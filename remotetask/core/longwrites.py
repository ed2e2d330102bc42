"""Writes that may take long: those that touch rows by the thousand.

A server that commits its short writes on its reactor thread (a store
that provides ``IQuickWrites``) must not run these there: a clean of a
million jobs, the cron misfires of a long outage, the count of a deep
queue, a multicall of many thousand adds. They are marked here, where
they are written, so that the writer can tell them without a list of its
own to keep true.
"""

#: How many jobs one call may add and still count as short (a multicall
#: of adds: about 50 ms of the reactor's time at this size).
MANY = 1000


def mayTakeLong(function=None, *, when=None):
    """Mark ``function`` (a method of the service) as a write that may
    take long: always, or when ``when(*args, **kwargs)`` says so for a
    call. The mark is read through its bound methods too."""
    def mark(function):
        function.mayTakeLong = when or _always
        return function
    return mark if function is None else mark(function)


def takesLong(function, args=(), kwargs=None):
    """Whether this call of ``function`` may take long."""
    when = getattr(function, 'mayTakeLong', None)
    return when is not None and when(*args, **(kwargs or {}))


def many(requests, *args, **kwargs):
    """``when`` for a call that adds ``requests``: more than ``MANY``."""
    return len(requests) > MANY


def _always(*args, **kwargs):
    return True

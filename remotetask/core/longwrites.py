"""Writes that may take long: those that touch rows by the thousand.

A server that commits its short writes on its reactor thread (a store
that provides ``IQuickWrites``) must not run these there: a clean of a
million jobs, the cron misfires of a long outage, the count of a deep
queue. They are marked here, where they are written, so that the writer
can tell them without a list of its own to keep true.
"""


def mayTakeLong(function):
    """Mark ``function`` (a method of the service) as a write that may
    take long; the mark is read through its bound methods too."""
    function.mayTakeLong = True
    return function


def takesLong(function):
    """Whether ``function`` was marked with ``mayTakeLong``."""
    return getattr(function, 'mayTakeLong', False)

"""Example tasks for a first run, enabled with ``--examples``.

They are declared in the entry-point group ``remotetask.examples``, not in
``remotetask.tasks``, so that a server runs them only when asked to.
"""

import time

from remotetask.core.task import TaskError


def echo(input):
    """Return the input unchanged."""
    return input


def sleep(input):
    """Sleep for `input` seconds (at most 3600), then return them."""
    if type(input) not in (int, float) or not 0 <= input <= 3600:
        raise TaskError('sleep needs a number of seconds from 0 to 3600.')
    time.sleep(input)
    return input

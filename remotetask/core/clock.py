"""The one place in the core that reads the system's time.

Everything else in ``remotetask.core`` reads the time from the clock it
was given (an object with ``seconds()``, as ``twisted.internet.task.Clock``
and the reactor have), so that a test drives retries, delays and ticks
with a fake clock instead of waiting for them, and a job's times all come
from one source.
"""

import time


class SystemClock:
    """The system's time, as epoch seconds."""

    seconds = staticmethod(time.time)

    def __repr__(self):
        return '<SystemClock>'


#: The clock of a service given none.
systemClock = SystemClock()

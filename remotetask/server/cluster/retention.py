"""Removing finished jobs once they are old enough.

A job server that keeps every finished job grows without end; one that
removes them at once leaves clients nothing to read. So finished jobs are
kept for an age per status (by default 7 days when completed, 30 when
they failed or were cancelled, so that failures can still be looked into),
then removed in small batches, each one short transaction on the store's
threads, so that neither the reactor nor other writers wait for a big
delete.
"""

import re
import time

from twisted.application.internet import TimerService
from twisted.internet import defer
from twisted.logger import Logger

from remotetask.errors import StoreUnavailable
from remotetask.core.status import CANCELLED, COMPLETED, ERROR

DAY = 86400
#: How long the chart's per-minute counters are kept: the chart shows a
#: day; a second one lets a day be compared with the one before.
KEEP_MINUTES = 2 * DAY
DEFAULT_KEEP = {COMPLETED: 7 * DAY, ERROR: 30 * DAY, CANCELLED: 30 * DAY}
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': DAY, 'w': 7 * DAY}


def parseAge(text):
    """Seconds from '30', '45s', '15m', '12h', '7d', '2w'; None for 'forever'
    (keep without end)."""
    text = text.strip().lower()
    if text in ('forever', 'never', 'keep'):
        return None
    found = re.fullmatch(r'(\d+(?:\.\d+)?)([smhdw]?)', text)
    if not found:
        raise ValueError(f'{text!r} is not an age (e.g. 12h, 7d, forever)')
    return float(found.group(1)) * _UNITS[found.group(2) or 's']


def parseKeep(text):
    """``completed=7d,error=30d,cancelled=forever`` -> {status: seconds or
    None}; statuses not named keep their default."""
    keep = dict(DEFAULT_KEEP)
    for part in filter(None, (p.strip() for p in text.split(','))):
        status, sep, age = part.partition('=')
        if not sep or status not in DEFAULT_KEEP:
            raise ValueError(f'{part!r}: use completed=AGE, error=AGE or '
                             'cancelled=AGE')
        keep[status] = parseAge(age)
    return keep


class RetentionService(TimerService):
    """Every ``interval`` seconds, purge finished jobs older than ``keep``
    says, ``batch`` at a time (their events and owed completion calls go
    with them), and the per-minute counters older than ``KEEP_MINUTES``."""

    name = 'retention'
    log = Logger()

    def __init__(self, store, storeCall, keep=None, interval=60.0,
                 batch=500, clock=None):
        super().__init__(interval, self.purge)
        if clock is not None:
            self.clock = clock
        self.store = store
        self.storeCall = storeCall
        self.keep = dict(DEFAULT_KEEP if keep is None else keep)
        self.batch = batch

    @defer.inlineCallbacks
    def purge(self):
        """One round; logs and returns how many jobs went, never raises."""
        removed = 0
        try:
            now = time.time()
            for status, age in sorted(self.keep.items()):
                if age is None:
                    continue
                while self.running:
                    count = yield self.storeCall(
                        self.store.purge, [status], now - age, self.batch)
                    removed += count
                    if count < self.batch:
                        break
            yield self.storeCall(self.store.purgeMinutes,
                                 int((now - KEEP_MINUTES) // 60))
        except StoreUnavailable:
            pass  # logged once, by the store (its outage); tried again
        except Exception:
            self.log.failure('Removing old finished jobs failed')
        if removed:
            self.log.info('Removed {count} old finished job(s)',
                          count=removed)
        return removed

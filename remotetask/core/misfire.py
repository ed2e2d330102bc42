"""Cron misfires: due times that passed while no server ran the job.

The server was down, or every worker was busy for longer than a grace
period. Each such due time is counted in the job's ``missed``; then the
job's policy decides: ``'once'`` (the default) moves it to its latest due
time, so that it runs once for all of them, ``'skip'`` to its next one.
Moves are compare-and-sets on the due time, so that several servers doing
this at once agree.
"""

from remotetask.core import job as jobs
from remotetask.core.status import CRONJOB


def handleMisfires(store, timezone, now, grace=60.0, limit=100000):
    """Apply the misfire policy of every cron job in ``store`` whose due
    time passed more than ``grace`` seconds before ``now``; count at most
    ``limit`` due times per job. Returns how many jobs were moved."""
    moved, after = 0, 0
    while rows := store.find(status=CRONJOB, after=after, limit=500):
        after = rows[-1]['id']
        for row in rows:
            if row['due'] is None or row['due'] > now - grace:
                continue
            job = jobs.fromRow(row, timezone=timezone)
            latest, missed = row['due'], 0
            following = job.timeOfNextCall(latest)
            while following <= now and missed < limit:
                latest, missed = following, missed + 1
                following = job.timeOfNextCall(latest)
            if job.misfire == jobs.SKIP:
                moved += store.skipRuns(row['id'], row['due'], following,
                                        missed + 1)
            elif missed:
                moved += store.skipRuns(row['id'], row['due'], latest,
                                        missed)
    return moved

"""The ends of a batch of runs on SQLite, recorded as a set.

One read of the batch's claims, then one prepared statement for every
end (``executemany``) and one for the completion calls owed, instead of a
statement, a read of its answer and a count of its dependents per run:
the recorder hands the store hundreds of ends at a time, and the Python
around each statement cost more than SQLite's own work on it. A batch of
one end is the exception: there the read is the larger cost. The count
of the ends' dependents (``SQLiteWaitSteps``) first asks whether there
are any.
"""

import json

from remotetask.core.status import FINISHED
from remotetask.store.waiting import SQLWaitSteps
from remotetask.store.writes import finishParams


def finishRuns(connection, queries, runs, keep, server):
    """Record the ends of ``runs`` (``IJobStore.finish``'s arguments, in
    the caller's write transaction): whether each was recorded, i.e. its
    token still held its job's claim. The completion calls the ends owe
    are recorded too; the count of dependents is the caller's.

    The claims are read first: one writer at a time (``BEGIN
    IMMEDIATE``), so nothing changes them before the updates. A job
    ended twice in one batch is recorded once, as one statement after the
    other would: the first end gives its claim up."""
    if len(runs) == 1:
        return [_finishOne(connection, queries, runs[0], keep, server)]
    held = {row['id']: row for row in connection.execute(
        queries['held_claims'], dict(ids=json.dumps(
            [run[0] for run in runs if run[1] is not None])))}
    recorded, params, owed = [], [], []
    for run in runs:
        row = held.get(run[0])
        done = row is not None and run[1] is not None \
            and row['token'] == run[1]
        if done:
            del held[run[0]]
            params.append(finishParams(*run, keep=keep, server=server))
            if row['notify'] is not None and run[2] in FINISHED:
                owed.append(dict(id=run[0]))
        recorded.append(done)
    if params:
        connection.executemany(queries['finish_job'], params)
    if owed:
        connection.executemany(queries['notify_end'], owed)
    return recorded


def _finishOne(connection, queries, run, keep, server):
    """Record one end alone (a write of one run: most of them on a server
    that is not busy) without reading its claim first: the update's count
    says whether the claim held, and notify_end owes a completion call
    only for a job that has a URL. Two statements rather than three: the
    read cost SQLite as much as the update's own work."""
    params = finishParams(*run, keep=keep, server=server)
    if connection.execute(queries['finish_job'], params).rowcount != 1:
        return False
    if run[2] in FINISHED:
        connection.execute(queries['notify_end'], dict(id=run[0]))
    return True


class SQLiteWaitSteps(SQLWaitSteps):
    """The steps of waiting jobs on SQLite, where an end counts its
    dependents only when it has any uncounted (``uncounted_ends``): every
    write of ends asks, and most jobs have none."""

    def __init__(self, connection, queries, keep):
        super().__init__(connection, queries, keep, json.dumps)

    def countEnd(self, ids):
        if not self._execute('uncounted_ends',
                             ids=self.asList(ids)).fetchone()['found']:
            return []
        return super().countEnd(ids)

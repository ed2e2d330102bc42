"""The ends of a batch of runs on SQLite, recorded as a set.

One read of the batch's claims, then one prepared statement for every
end (``executemany``) and one for the completion calls owed, instead of a
statement, a read of its answer and a count of its dependents per run:
the recorder hands the store hundreds of ends at a time, and the Python
around each statement cost more than SQLite's own work on it. Most ends
(those that send no job back to the queue and add nothing to its
history) take a leaner statement, ``finish_runs``, bound from a tuple
each, whose events are appended as text made here. A batch of
one end is the exception: there the read is the larger cost, and the
update itself says what else the end owes (``finish_one``). The count
of the ends' dependents (``SQLiteWaitSteps``) first asks whether there
are any.
"""

import json

from remotetask.core import events
from remotetask.core.status import FINISHED
from remotetask.store.waiting import SQLWaitSteps
from remotetask.store.writes import FINISH_PARAMS


def finishRuns(connection, queries, runs, keep, server):
    """Record the ends of ``runs`` (``IJobStore.finish``'s arguments, in
    the caller's write transaction): ``(recorded, ended)``, whether each
    was recorded, i.e. its token still held its job's claim, and the
    ``(id, status)`` of those whose dependents may have to be counted
    (the caller's work, ``WaitingJobs.ended``). The completion calls the
    ends owe are recorded too.

    The claims are read first: one writer at a time (``BEGIN
    IMMEDIATE``), so nothing changes them before the updates. A job
    ended twice in one batch is recorded once, as one statement after the
    other would: the first end gives its claim up."""
    if len(runs) == 1:
        return _finishOne(connection, queries, runs[0], keep, server)
    # The claims as (id, token, notify, attempts) tuples: no dict made
    # per row.
    claims = connection.cursor()
    claims.row_factory = None
    held = {jobid: row for jobid, *row in claims.execute(
        queries['held_claims'], dict(ids=json.dumps(
            [run[0] for run in runs if run[1] is not None])))}
    recorded, plain, params, owed, ended = [], [], [], [], []
    # finishParams of each run, made in C from the batch's defaults and
    # the run's own values: a call per run, with a dozen arguments by
    # name, cost more than the dict it made.
    unset = dict.fromkeys(FINISH_PARAMS, None)
    unset.update(keep=keep, server=server)
    roomy = _roomFor(keep)
    for run in runs:
        row = held.get(run[0])
        done = row is not None and run[1] is not None \
            and row[0] == run[1]
        if done:
            del held[run[0]]
            if len(run) < _FULL:
                run = tuple(run) + (None,) * (_FULL - len(run))
            numbered = _plainEnd(run, row[2], server, roomy, keep)
            if numbered is not None:
                plain.append(numbered)
            else:
                given = unset.copy()
                given.update(zip(FINISH_PARAMS, run))
                if run[2] is not None:
                    given['status'] = str(run[2])
                params.append(given)
            if row[1] is not None and run[2] in FINISHED:
                owed.append(dict(id=run[0]))
            ended.append((run[0], run[2]))
        recorded.append(done)
    if plain:
        connection.executemany(queries['finish_runs'], plain)
    if params:
        connection.executemany(queries['finish_job'], params)
    if owed:
        connection.executemany(queries['notify_end'], owed)
    return recorded, ended


#: The length of a whole run (``FINISH_PARAMS``); the last ones may be
#: left out.
_FULL = len(FINISH_PARAMS)


def _roomFor(keep):
    """The longest stored events (in characters) to which a run's two
    may be added as text without passing ``keep``: every event takes at
    least ``events.SHORTEST`` characters (finish_runs, finish_one)."""
    return events.SHORTEST * (keep - 2)


def _plainEnd(run, attempts, server, roomy, keep):
    """finish_runs's parameters for ``run`` (a whole one), whose job has
    counted ``attempts``; None for a run it does not record (a retry, an
    attempt for the history, a start event that names its attempt
    already), which finish_job records. ``roomy``: the longest events
    that two more keep within ``keep`` (see finish_runs)."""
    (jobid, token, status, output, error, traceback, now, due, attempt,
     event, progress, started, startEvent) = run
    if due is not None or attempt is not None:
        return None
    if startEvent is not None:
        # What json_set(:startEvent, '$.attempt', attempts + 1) makes of
        # an event without an attempt: the member added last.
        if '"attempt"' in startEvent or startEvent[-1:] != '}':
            return None
        startEvent = f'{startEvent[:-1]},"attempt":{attempts + 1}}}'
        tail = f',{startEvent},{event}]' if event is not None else \
            f',{startEvent}]'
    else:
        tail = ']' if event is None else f',{event}]'
    return (jobid, token, None if status is None else str(status), output,
            error, traceback, now, progress, started, server, tail, roomy,
            startEvent, event, keep)


def _finishOne(connection, queries, run, keep, server):
    """Record one end alone (a write of one run: most of them on a server
    that is not busy) without reading its claim first: whether the update
    found its claim, and what else the end owes, come back from it
    (``finish_one``), so that a plain job's end is one statement, and
    notify_end, or the count of its dependents, follows only for a job
    that has a completion URL, or dependents still to count."""
    params = tuple(run) + (None,) * (_FULL - len(run)) + (
        keep, server, _roomFor(keep))
    if run[2] is not None:
        params = params[:2] + (str(run[2]),) + params[3:]
    row = connection.execute(queries['finish_one'], params).fetchone()
    if row is None:
        return [False], []
    if run[2] not in FINISHED:
        return [True], []
    if row['notify'] is not None:
        connection.execute(queries['notify_end'], dict(id=run[0]))
    return [True], [(run[0], run[2])] if row['waited'] else []


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

"""Writes that both stores make alike, each a function of a connection
inside the caller's transaction, with the store's named ``queries``
(named alike in ``sqlite.sql`` and ``postgresql.sql``)."""

from remotetask.errors import NoSuchJob, NotAllowed


def insertJob(connection, queries, entry, now, event, keep):
    """Insert ``entry`` (an ``Entry``) with its first ``event``, or return
    the id of the unfinished job of its task that holds its key. Atomic
    between servers (PostgreSQL): the unique index makes a second insert
    wait for the first one's transaction, and find the key taken if it
    committed. The holder may finish between the two statements; then the
    insert is tried again (SQLite: one writer at a time, so never)."""
    params = dict(entry._asdict(), status=str(entry.status), now=now,
                  event=event, keep=keep)
    while True:
        row = connection.execute(queries['insert_job'], params).fetchone()
        if row is None:
            row = connection.execute(queries['keyed_job'], params).fetchone()
        if row is not None:
            return row['id']


#: finish_job's parameters that ``IJobStore.finish``'s arguments give, in
#: their order (``finishParams``); the others are ``keep`` and ``server``.
FINISH_PARAMS = ('id', 'token', 'status', 'output', 'error', 'traceback',
                 'now', 'due', 'attempt', 'event', 'progress', 'started',
                 'startEvent')


def finishParams(jobid, token, status, output, error, traceback, now,
                 due=None, attempt=None, event=None, progress=None,
                 started=None, startEvent=None, *, keep, server):
    """finish_job's parameters for one run (``IJobStore.finish``'s
    arguments, the last ones optional)."""
    return dict(id=jobid, token=token,
                status=None if status is None else str(status),
                output=output, error=error, traceback=traceback, now=now,
                due=due, attempt=attempt, event=event, keep=keep,
                progress=progress, started=started, startEvent=startEvent,
                server=server)


def changeJob(connection, queries, name, params, refusal=None,
              wake=False):
    """Run the update ``name`` on job ``params['id']``; whether it
    changed it, or ``NoSuchJob`` if there is no such job.
    ``refusal(connection)``, when it did not, may raise the refusal that
    says why. ``wake``: when it did, wake the servers' dispatchers
    (``notify_jobs``: a store shared by several)."""
    if connection.execute(queries[name], params).rowcount == 1:
        if wake:
            connection.execute(queries['notify_jobs'])
        return True
    if connection.execute(queries['job_exists'],
                          dict(id=params['id'])).fetchone() is None:
        raise NoSuchJob.withId(params['id'])
    if refusal is not None:
        refusal(connection)
    return False


def keyFree(jobid, queries):
    """The ``refusal`` of a retry: ``NotAllowed`` while another unfinished
    job of its task holds its key."""
    def refuse(connection):
        holder = connection.execute(queries['key_holder'],
                                    dict(id=jobid)).fetchone()
        if holder is not None and holder['id'] != jobid:
            raise NotAllowed.keyHeld(jobid, holder['id'])
    return refuse


def scheduleFirstRuns(connection, queries, now, firstDue):
    """Give the cron and delayed jobs that no claim has seen yet their
    first due time, ``firstDue(row, now)``; how many there were."""
    rows = connection.execute(queries['unscheduled_jobs']).fetchall()
    for row in rows:
        connection.execute(queries['set_due'], dict(
            id=row['id'], due=firstDue(row, now)))
    return len(rows)

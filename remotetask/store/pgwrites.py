"""The PostgreSQL store's writes of more than one statement.

Each is a function of a connection, run inside the caller's transaction
(as ``claimRuns`` and the steps of ``waiting`` are), with the store's
named ``queries``. Every change that gives the servers' dispatchers work
(a job added, queued again, made due) is announced with NOTIFY in its
transaction (``notify_jobs``), heard by each server's listener once it
commits (``pglisten``).
"""

from remotetask.core.status import FINISHED, QUEUED
from remotetask.errors import NoSuchJob
from remotetask.store.writes import finishParams


def insertJobs(connection, queries, entries, now, event, keep):
    """Insert ``entries`` (``Entry``, none with a key) in one statement,
    each with its first ``event``; their ids, ascending."""
    columns = [list(column) for column in zip(*entries)] or [[]] * 10
    ids = [row['id'] for row in connection.execute(
        queries['insert_jobs'], dict(
            now=now, tasks=columns[0], inputs=columns[1],
            statuses=[str(status) for status in columns[2]],
            schedules=columns[3], priorities=columns[4], dues=columns[6],
            maxattempts=columns[7], notifies=columns[8], owners=columns[9],
            event=event, keep=keep))]
    if ids:
        connection.execute(queries['notify_jobs'])
    return sorted(ids)


def finishRuns(connection, queries, runs, keep, server):
    """Record the ends of ``runs`` (``IJobStore.finish``'s arguments,
    each with its token) in one round trip: executemany sends the
    statements in pipeline mode, and the answers are read after. Whether
    each was recorded (its claim still held); the completion calls the
    ends owe are recorded too."""
    params = [finishParams(*run, keep=keep, server=server) for run in runs]
    with connection.cursor() as cursor:
        cursor.executemany(queries['finish_job'], params, returning=True)
        answers = [cursor.fetchone()]
        while cursor.nextset():
            answers.append(cursor.fetchone())
        owed = [dict(id=run[0]) for run, answer in zip(runs, answers)
                if answer['finished'] and run[2] in FINISHED
                and answer['notify'] is not None]
        if owed:
            cursor.executemany(queries['notify_end'], owed)
    return [bool(answer['finished']) for answer in answers]


def transitionJob(connection, queries, params, toStatus):
    """Move job ``params['id']`` to ``toStatus`` if its status is one of
    ``params['allowed']``; whether it did (``NoSuchJob`` if there is no
    such job). A job queued wakes the servers' dispatchers; a job ended
    tells the servers, and owes its completion call."""
    changed = connection.execute(queries['transition_job'],
                                 params).fetchone()
    if changed is None:
        if connection.execute(queries['job_exists'],
                              dict(id=params['id'])).fetchone() is None:
            raise NoSuchJob.withId(params['id'])
        return False
    if toStatus == QUEUED:
        connection.execute(queries['notify_jobs'])
    elif toStatus in FINISHED:
        connection.execute(queries['notify_finished'],
                           dict(id=params['id'], status=str(toStatus)))
        if changed['notify'] is not None:
            connection.execute(queries['notify_end'], dict(id=params['id']))
    return True


def changeJobs(connection, queries, name, params):
    """How many jobs the update ``name`` changed, waking the servers'
    dispatchers when it changed any (jobs put back in the queue)."""
    changed = connection.execute(queries[name], params).rowcount
    if changed:
        connection.execute(queries['notify_jobs'])
    return changed

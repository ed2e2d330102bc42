"""The adds of a batch on SQLite, inserted as a set.

A multicall of adds reaches the store as one ``addMany`` of hundreds of
entries. Those without a key cannot conflict with any job, so a run of
them is one prepared statement for every entry (``executemany``) rather
than a statement and a read of its answer each: the Python around each
statement, and RETURNING's own work in SQLite, cost more than the
insert. Their ids need no reading: one writer at a time (``BEGIN
IMMEDIATE``) and AUTOINCREMENT give a run's rows the ids that follow one
another up to the last one inserted. An entry with a key may find it
taken and get the holder's id instead (``insertJob``), one at a time.
"""

import itertools

from remotetask.store.writes import insertJob


def insertJobs(connection, queries, entries, now, event, keep):
    """The ids of ``entries`` (``Entry`` tuples), inserted in order in the
    caller's write transaction, each with the first ``event``; as
    ``insertJob`` does each."""
    ids = []
    for keyed, run in itertools.groupby(
            entries, key=lambda entry: entry.key is not None):
        run = list(run)
        if keyed or len(run) == 1:
            ids += [insertJob(connection, queries, entry, now, event, keep)
                    for entry in run]
            continue
        inserted = connection.executemany(queries['insert_jobs'], [
            dict(entry._asdict(), status=str(entry.status), now=now,
                 event=event) for entry in run]).rowcount
        last = connection.execute(queries['last_job_id']).fetchone()['id']
        if inserted != len(run):
            raise RuntimeError(f'inserted {inserted} of {len(run)} jobs')
        ids += range(last - len(run) + 1, last + 1)
    return ids

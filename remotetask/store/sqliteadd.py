"""The adds of a batch on SQLite, inserted as a set.

A multicall of adds reaches the store as one ``addMany`` of hundreds of
entries. Those without a key cannot conflict with any job, so a run of
them is one prepared statement for every entry (``executemany``) rather
than a statement and a read of its answer each: the Python around each
statement, and RETURNING's own work in SQLite, cost more than the
insert. Their ids need no reading: one writer at a time (``BEGIN
IMMEDIATE``) and AUTOINCREMENT give a run's rows the ids that follow one
another up to the last one inserted (for one entry, the cursor's
``lastrowid``: a single add, too, is cheaper without RETURNING). An
entry with a key may find it taken and get the holder's id instead
(``insertJob``), one at a time.
"""

import itertools
import operator

from remotetask.store.writes import insertJob


_KEY = operator.attrgetter('key')


def insertJobs(connection, queries, entries, now, event, keep):
    """The ids of ``entries`` (``Entry`` tuples), inserted in order in the
    caller's write transaction, each with the first ``event``; as
    ``insertJob`` does each."""
    ids = []
    # The first event of every job of the batch, as insert_job stores it
    # (events.make's JSON is compact, as json_array(json()) makes it).
    events = None if event is None else f'[{event}]'
    # Runs of entries by key: those without one (None) go in together;
    # a keyed entry is inserted alone anyway.
    for key, run in itertools.groupby(entries, key=_KEY):
        if key is not None:
            ids += [insertJob(connection, queries, entry, now, event, keep)
                    for entry in run]
            continue
        # insert_jobs's numbered parameters: the entry's fields (its
        # status as a plain str), then the time and the events.
        rest = (now, events)
        params = [entry[:2] + (str(entry[2]),) + entry[3:] + rest
                  for entry in run]
        if len(params) == 1:
            ids.append(connection.execute(queries['insert_jobs'],
                                          params[0]).lastrowid)
            continue
        inserted = connection.executemany(queries['insert_jobs'],
                                          params).rowcount
        last = connection.execute(queries['last_job_id']).fetchone()['id']
        if inserted != len(params):
            raise RuntimeError(f'inserted {inserted} of {len(params)} jobs')
        ids += range(last - len(params) + 1, last + 1)
    return ids

"""Completion calls and the per-minute counters, for both stores.

The completion calls a job owes when it ends (``IJobStore``'s
``claimNotifications``, ``nextNotification``, ``recordNotification``)
and the per-minute counters of runs and of the queue's depth
(``countRuns``, ``sampleQueue``, ``minutes``, ``purgeMinutes``) are the
same statements, by name, in ``sqlite.sql`` and ``postgresql.sql``; only
the connections differ.
"""


class CallsAndCounters:
    """The methods above, over a store's ``connections`` (``read``,
    ``write`` and ``change`` a statement by name; ``run(work)`` in a
    transaction)."""

    def __init__(self, connections):
        self.connections = connections

    def claimNotifications(self, now, limit, token, lease):
        rows = self.connections.write('claim_notifications', now=now,
                                      limit=limit, token=token, lease=lease)
        return sorted(rows, key=lambda row: row['job'])

    def nextNotification(self):
        return self.connections.read('next_notification')[0]['due']

    def recordNotification(self, jobid, token, due, event, keep):
        """Record how job ``jobid``'s completion call went, with its
        ``event`` (the job keeping at most ``keep``): made (``due`` None:
        the call is forgotten) or to be made again at ``due``; only while
        the claim ``token`` holds (another server may have taken the call
        over after its lease). Whether it held."""
        queries = self.connections.queries

        def record(connection):
            if due is None:
                current = connection.execute(queries['notification_done'],
                                             dict(job=jobid, token=token))
            else:
                current = connection.execute(
                    queries['notification_again'],
                    dict(job=jobid, token=token, due=due))
            if current.rowcount != 1:
                return False
            connection.execute(queries['add_event'],
                               dict(id=jobid, event=event, keep=keep))
            return True
        return self.connections.run(record)

    def countRuns(self, minute, server, finished, failed):
        self.connections.change('count_runs', minute=minute, server=server,
                                finished=finished, failed=failed)

    def sampleQueue(self, minute, server):
        self.connections.change('sample_queue', minute=minute,
                                server=server)

    def minutes(self, since):
        return self.connections.read('minutes_since', since=since)

    def purgeMinutes(self, before):
        return self.connections.change('purge_minutes', before=before)

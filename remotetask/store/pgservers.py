"""Several servers on one PostgreSQL database: who they are, what they
serve, and taking back the jobs of those that died.

Owned by ``PostgreSQLJobStore``, beyond ``IJobStore``: each server
heartbeats (``heartbeat``), recording beside it the tasks it serves
(``announce``, ``withdraw``), so that an add on any server is accepted for
a task any server alive serves (``servedTasks``); ``recoverLost`` puts
back in the queue the jobs of a server whose heartbeat is too old.
"""

import json

from remotetask.core import events


class SharedServers:
    """See the module docstring: this server is ``serverId`` among those
    sharing the database that ``connections`` (``PostgreSQLConnections``)
    reach; a server is alive while its heartbeat is at most
    ``heartbeatTimeout`` seconds old."""

    def __init__(self, connections, serverId, heartbeatTimeout):
        self.connections = connections
        self.queries = connections.queries
        self.serverId = serverId
        self.heartbeatTimeout = heartbeatTimeout
        #: {name: description} of the tasks this server serves, as its
        #: heartbeats record them (see announce()).
        self.tasks = {}
        self._lastServed = {}

    def servers(self):
        """Return ``[{id, heartbeat, tasks, running}]``: the servers sharing
        the database, when each last heartbeated, the tasks each serves
        ({name: description}) and how many jobs each is running; for the
        dashboard's workers view."""
        return self.connections.read('list_servers')

    def heartbeat(self, now):
        """Record that this server (``serverId``) is alive at ``now``,
        serving ``tasks``."""
        self.connections.change('heartbeat', id=self.serverId, now=now,
                                tasks=json.dumps(self.tasks))

    def announce(self, tasks, limited, now):
        """Record that this server serves ``tasks`` ({name: description})
        from ``now`` on, with a heartbeat; make the rows that claims of the
        ``limited`` tasks lock."""
        self.tasks = dict(tasks)

        def announce(connection):
            connection.execute(self.queries['heartbeat'], dict(
                id=self.serverId, now=now, tasks=json.dumps(self.tasks)))
            if limited:
                connection.execute(self.queries['add_limited_tasks'],
                                   dict(tasks=sorted(limited)))
        self.connections.run(announce)

    def withdraw(self):
        """Serve no task any more (the server is stopping); the
        heartbeat row stays until it is old, as recovery goes by it."""
        self.tasks = {}
        self.connections.change('withdraw_tasks', id=self.serverId)

    def servedTasks(self, now):
        """``{task: {description, servers}}`` for every task that a
        server alive at ``now`` serves."""
        served = {row['task']: dict(description=row['description'],
                                    servers=row['servers'])
                  for row in self.connections.read(
                      'served_tasks', cutoff=now - self.heartbeatTimeout)}
        self._lastServed = served
        return served

    def lastServedTasks(self):
        """What ``servedTasks`` answered last ({} before its first
        answer), read from no database: for a listing of the tasks that
        must answer while the database does not."""
        return self._lastServed

    def recoverLost(self, now, timeout, keep):
        """Put back in the queue the jobs held by servers that have not
        heartbeated for ``timeout`` seconds; return their ids, ascending.
        Each keeps at most ``keep`` events.

        A job that started less than ``timeout`` ago is left alone even if
        its server never heartbeated, so a server that heartbeats at least
        every ``timeout`` seconds, from its start, keeps its jobs. The lost
        servers' heartbeat rows are forgotten. Each job put back gets a
        "put back" event naming the lost server's reason.
        """
        cutoff = now - timeout
        event = events.make(events.PUT_BACK, now, self.serverId,
                            why=events.LOST_SERVER)

        def recover(connection):
            ids = sorted(row['id'] for row in connection.execute(
                self.queries['requeue_lost_claims'], dict(
                    cutoff=cutoff, event=event, keep=keep)))
            connection.execute(self.queries['forget_lost_servers'],
                               dict(cutoff=cutoff))
            if ids:
                connection.execute(self.queries['notify_jobs'])
            return ids
        return self.connections.run(recover)

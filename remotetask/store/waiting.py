"""Jobs that wait for other jobs (``after``), for every store.

A job added with ``after`` is ``waiting``. Its store keeps one edge per
dependency and one count, ``pending``, of the dependencies that have not
ended yet. Each end of a job (``finish`` to completed or error,
``transition`` to cancelled) counts its edges once (``countEnd``) and its
dependents down (``countDown``), in the transaction that records the end:

- a dependency that failed (error or cancelled) cancels a dependent whose
  ``onFailure`` is ``cancel``, at once, and that end goes on to its own
  dependents, in the same transaction;
- the dependent whose count reaches zero is queued (``run``: whatever
  ended how), its input joined to the dependencies' results if it was
  given ``pass``.

So a job is released in the transaction of the last end it waits for, or
never: a crash before the commit loses the end and the release together.

Why exactly once, with several servers on PostgreSQL (READ COMMITTED):
two transactions ending a fan-in's last two dependencies each update the
fan-in's count row. The second waits for the first's row lock, and when
the first commits, PostgreSQL re-reads the row and counts down from what
the first wrote: one of them sees zero, the other one. A lock of the
fan-in's job row alone would not do: each transaction could count, in
its own snapshot, the other's dependency as unfinished. The count row is
the one place where they must meet, and the decrement there is the
count: no transaction reads a count it did not write. The statements that
follow (the results a ``pass`` reads) run after the wait, so their
snapshot holds every end counted. An add races an end the other way: it
reads its dependencies ``FOR SHARE`` (``states``), so the end waits for
the add, and then finds the new edge, or the add waits for the end and
reads it as ended (see ``dependency_states`` in ``postgresql.sql``).

How each step reads and writes is the store's (``WaitSteps``); the order
and the rules are here, once.
"""

import collections
import time

from remotetask.core import events
from remotetask.core.status import (
    CANCELLED, COMPLETED, ERROR, FINISHED, QUEUED)
from remotetask.core.workflows import CANCEL, Wait
from remotetask.errors import NoSuchJob


class WaitSteps:
    """What a store does at each step (all inside one transaction)."""

    def states(self, ids):
        """``{id: {id, task, status, schedule}}`` of those of ``ids``
        that exist, locked against their end until the transaction ends."""
        raise NotImplementedError

    def insertWait(self, jobid, after, ended, pending, onFailure,
                   passResults):
        """The edges of ``jobid`` to ``after`` (those of ``ended`` counted
        already), and its count of ``pending`` dependencies."""
        raise NotImplementedError

    def countEnd(self, ids):
        """Count the edges of the ended ``ids`` not counted yet:
        ``[(dependent, dependency)]``."""
        raise NotImplementedError

    def countDown(self, jobid, n):
        """``n`` more dependencies of ``jobid`` ended: its row of counts
        after the change ``{pending, onfailure, pass}``, or None."""
        raise NotImplementedError

    def results(self, jobid):
        """``(input, [(id, status, output)])``: ``jobid``'s stored input,
        and its dependencies' outputs."""
        raise NotImplementedError

    def queue(self, jobid, input, event):
        """Queue ``jobid`` if it waits (``input``: its new input, or None
        to keep it); whether it did."""
        raise NotImplementedError

    def end(self, jobid, status, error, now, event):
        """End ``jobid`` as ``status`` with ``error`` if it waits (and owe
        its completion call); whether it did."""
        raise NotImplementedError


class WaitRules:
    """The rules, over a store's ``steps``; ``server`` names who acts in
    the events, ``maxPassed`` bounds a joined input (bytes)."""

    def __init__(self, steps, server, maxPassed, now):
        self.steps = steps
        # Named when an event is made (host:pid when None), not per end.
        self._server = server
        self.maxPassed = maxPassed
        self.now = now
        #: ``[(jobid, status)]``: what changed, to tell once committed.
        self.changes = []

    @property
    def server(self):
        return self._server or events.serverName()

    def add(self, jobid, wait):
        """``jobid`` (just inserted, ``waiting``) waits for ``wait.after``;
        released (or cancelled) at once if those have ended."""
        states = self.steps.states(wait.after)
        missing = sorted(set(wait.after) - set(states))
        if missing:
            raise NoSuchJob.withId(missing[0])
        ended = sorted(i for i, row in states.items()
                       if row['status'] in FINISHED)
        failed = [i for i in ended if states[i]['status'] != COMPLETED]
        pending = len(states) - len(ended)
        self.steps.insertWait(jobid, sorted(states), ended, pending,
                              wait.onFailure, wait.passResults)
        if failed and wait.onFailure == CANCEL:
            self._cancel(jobid, failed[0], states[failed[0]]['status'])
        elif pending == 0:
            self._release(jobid, wait.passResults)

    def ended(self, ends):
        """The jobs ``ends`` (``[(id, status)]``) ended: count their
        dependents down, and release or cancel those it is time for, and
        in turn theirs."""
        work = [(jobid, str(status)) for jobid, status in ends
                if status in FINISHED]
        while work:
            statuses = dict(work)
            counted = collections.defaultdict(list)
            for dependent, dependency in self.steps.countEnd(sorted(
                    statuses)):
                counted[dependent].append(dependency)
            work = []
            # In id order: two transactions lock the count rows they share
            # in the same order, so never in a circle.
            for dependent in sorted(counted):
                work += self._countDown(dependent, counted[dependent],
                                        statuses)

    def _countDown(self, dependent, dependencies, statuses):
        row = self.steps.countDown(dependent, len(dependencies))
        if row is None:
            return []
        failed = sorted(i for i in dependencies if statuses[i] != COMPLETED)
        if failed and row['onfailure'] == CANCEL:
            if self._cancel(dependent, failed[0], statuses[failed[0]]):
                return [(dependent, str(CANCELLED))]
        elif row['pending'] == 0:
            if self._release(dependent, bool(row['pass'])) == ERROR:
                return [(dependent, str(ERROR))]
        return []

    def _cancel(self, jobid, failed, status):
        event = events.make(events.CANCELLED, self.now, self.server,
                            why=f'job {failed} it waits for ended in '
                                f'{status}', dependency=failed)
        if self.steps.end(jobid, CANCELLED, None, self.now, event):
            self.changes.append((jobid, str(CANCELLED)))
            return True
        return False

    def _release(self, jobid, passResults):
        """Queue ``jobid``, its input joined to the results if asked;
        ERROR if that input would be too large (the job ends so)."""
        input = None
        if passResults:
            input = self._joined(jobid)
            if len(input.encode('utf-8')) > self.maxPassed:
                error = (f'Its input joined to the results of the jobs it '
                         f'waited for would take more than {self.maxPassed}'
                         ' bytes (see --max-answer-size); it was not run.')
                event = events.make(events.ENDED, self.now, self.server,
                                    status=str(ERROR), error=error)
                if self.steps.end(jobid, ERROR, error, self.now, event):
                    self.changes.append((jobid, str(ERROR)))
                    return ERROR
                return None
        event = events.make(events.QUEUED, self.now, self.server,
                            why='the jobs it waited for ended')
        if self.steps.queue(jobid, input, event):
            self.changes.append((jobid, str(QUEUED)))
            return QUEUED
        return None

    def _joined(self, jobid):
        """The stored text of ``{"input": ..., "results": {id: ...}}``:
        the pieces are stored JSON already, and no key of the struct
        starts with ``$``, so they are joined as they are (the codec's
        encoding of the same value, without decoding each result)."""
        input, rows = self.steps.results(jobid)
        results = ','.join(
            f'"{i}":{output if output is not None else "null"}'
            for i, _, output in rows)
        return (f'{{"input":{input if input is not None else "null"},'
                f'"results":{{{results}}}}}')


class SQLWaitSteps(WaitSteps):
    """The steps on a SQL store's ``connection``, inside its transaction,
    with its named ``queries``; ``asList`` turns a list of ids into what
    they take (a JSON array on SQLite); ``keep`` is the store's
    ``maxEvents``."""

    def __init__(self, connection, queries, keep, asList=list):
        self.connection = connection
        self.queries = queries
        self.keep = keep
        self.asList = asList

    def _execute(self, name, **params):
        return self.connection.execute(self.queries[name], params)

    def states(self, ids):
        return {row['id']: row for row in self._execute(
            'dependency_states', ids=self.asList(list(ids)))}

    def insertWait(self, jobid, after, ended, pending, onFailure,
                   passResults):
        self._execute('insert_dependencies', job=jobid,
                      after=self.asList(after), ended=self.asList(ended))
        self._execute('insert_wait', job=jobid, pending=pending,
                      onfailure=onFailure, **{'pass': passResults})

    def countEnd(self, ids):
        return [(row['job'], row['after']) for row in self._execute(
            'count_end', ids=self.asList(ids)).fetchall()]

    def countDown(self, jobid, n):
        return self._execute('count_down', job=jobid, n=n).fetchone()

    def results(self, jobid):
        own = self._execute('get_job', id=jobid).fetchone()
        return own['input'], [
            (row['id'], row['status'], row['output'])
            for row in self._execute('passed_results', job=jobid)]

    def _leave(self, jobid, status, input, error, now, event):
        return self._execute('leave_waiting', id=jobid, status=str(status),
                             input=input, error=error, now=now, event=event,
                             keep=self.keep).fetchone()

    def queue(self, jobid, input, event):
        return self._leave(jobid, QUEUED, input, None, None, event) \
            is not None

    def end(self, jobid, status, error, now, event):
        row = self._leave(jobid, status, None, error, now, event)
        if row is None:
            return False
        if row['notify'] is not None:
            self._execute('notify_end', id=jobid)
        return True


class WaitingJobs:
    """The ``IJobStore`` methods of waiting jobs, for a store: ``withSteps
    (work)`` runs ``work(steps)`` inside one of its transactions,
    ``afterCommit`` is the store's, ``serverId()`` names the server that
    acts in the events. The store's ends call ``ended`` with their
    transaction's steps."""

    #: The largest joined input of a job given pass (bytes of its stored
    #: JSON); the daemon sets its ``--max-answer-size``.
    maxPassed = 16 * 1024 * 1024

    def __init__(self, withSteps, afterCommit, serverId):
        self.withSteps = withSteps
        self.afterCommit = afterCommit
        self.serverId = serverId
        self._watchers = []

    def dependencyStates(self, ids):
        return self.withSteps(lambda steps: steps.states(ids))

    def wait(self, jobid, after, onFailure, passResults, now):
        def wait(steps):
            rules = self._rules(steps, now)
            rules.add(jobid, Wait(sorted(set(after)), onFailure,
                                  passResults))
            self._tell(rules.changes)
            return dict(rules.changes).get(jobid)
        return self.withSteps(wait)

    def watchWaits(self, callback):
        self._watchers.append(callback)

    def _rules(self, steps, now):
        return WaitRules(steps, self.serverId(), self.maxPassed,
                         time.time() if now is None else now)

    def ended(self, steps, ends, now):
        """Jobs ended (``[(id, status)]``, statuses that are not ends left
        out), in the transaction of ``steps``: their dependents move on.
        A store gives it a batch's ends at once (``finishMany``), so that
        a dependent whose dependencies end together is counted down
        once."""
        ends = [(jobid, status) for jobid, status in ends
                if status in FINISHED]
        if ends:
            rules = self._rules(steps, now)
            rules.ended(ends)
            self._tell(rules.changes)

    def _tell(self, changes):
        watchers = self._watchers
        if changes and watchers:
            def tell():
                for callback in watchers:
                    callback(list(changes))
            self.afterCommit(tell)

"""The IJobStore contract of jobs that wait for other jobs, as tests.

Part of ``StoreContractTests`` (``tests.storecontract``), so that every
store (SQLite, a file and in memory, and PostgreSQL) runs them unchanged.
"""

import json

import pytest

from remotetask.errors import NoSuchJob
from tests.threads import runThreads


class WaitingContractTests:
    """Needs ``self.store`` and ``self.add`` (``tests.storecontract``)."""

    def waiting(self, after, onFailure='cancel', passResults=False,
                input='"own"', task='echo'):
        """A job added waiting for ``after``; its id."""
        jobid = self.add(task=task, input=input, status='waiting')
        self.store.wait(jobid, after, onFailure, passResults, 100.0)
        return jobid

    def run(self, jobid, output='"done"', status='completed', now=101.0):
        """Claim ``jobid`` (the only due job) and end it as ``status``."""
        rows = self.store.claim(now, 1, f't{jobid}', lambda r, n: n, now)
        assert [row['id'] for row in rows] == [jobid]
        assert self.store.finish(jobid, f't{jobid}', status, output, None,
                                 None, now)

    def status(self, jobid):
        return self.store.get(jobid)['status']

    def test_a_waiting_job_is_queued_when_its_last_dependency_ends(self):
        """A job waiting for two is released by the end of the second, in
        that transaction: it is queued (and claimable) at once."""
        first, second = self.add(), self.add()
        job = self.waiting([first, second])
        assert self.status(job) == 'waiting'
        self.run(first)
        assert self.status(job) == 'waiting'
        self.run(second)
        assert self.status(job) == 'queued'
        assert self.store.get(job)['input'] == '"own"'

    def test_ended_dependencies_count_as_ended(self):
        """A job whose dependencies have all ended is queued at once, and
        wait() says so; one still unfinished keeps it waiting."""
        done, open = self.add(), self.add()
        self.run(done)
        assert self.store.wait(self.add(status='waiting'), [done],
                               'cancel', False, 100.0) == 'queued'
        job = self.add(status='waiting')
        assert self.store.wait(job, [done, open], 'cancel', False,
                               100.0) is None
        assert self.status(job) == 'waiting'

    def test_unknown_dependency_is_refused(self):
        """wait() with an id that names no job raises NoSuchJob, naming
        it."""
        job = self.add(status='waiting')
        with pytest.raises(NoSuchJob, match='999'):
            self.store.wait(job, [999], 'cancel', False, 100.0)

    def test_pass_joins_the_input_to_the_results(self):
        """With pass, the released job's input is {input, results}, the
        results by id (as text keys), each as its job's output."""
        first, second = self.add(), self.add()
        job = self.waiting([first, second], passResults=True,
                           input='{"own":[1]}')
        self.run(first, output='[1,2]')
        self.run(second, output='null', status='error')
        # onFailure cancel: an error cancels; use a run policy to see pass.
        assert self.status(job) == 'cancelled'
        job = self.waiting([first, second], onFailure='run',
                           passResults=True, input='{"own":[1]}')
        assert json.loads(self.store.get(job)['input']) == {
            'input': {'own': [1]},
            'results': {str(first): [1, 2], str(second): None}}

    def test_a_failure_cancels_the_dependent_and_its_own(self):
        """A dependency ending in error cancels a 'cancel' dependent at
        once, with an event naming it, and that dependent's dependents
        in turn; a 'run' dependent is released."""
        failing, other = self.add(), self.add()
        cancelled = self.waiting([failing, other])
        after = self.waiting([cancelled])
        runs = self.waiting([failing], onFailure='run')
        self.run(failing, status='error', output=None)
        assert self.status(cancelled) == 'cancelled'
        assert self.status(after) == 'cancelled'
        assert self.status(runs) == 'queued'
        last = json.loads(self.store.get(cancelled)['events'])[-1]
        assert last['event'] == 'cancelled'
        assert last['dependency'] == failing
        assert self.store.get(cancelled)['completed'] == 101.0

    def test_a_cancelled_dependency_counts_as_failed(self):
        """Cancelling a dependency (transition) cancels a 'cancel'
        dependent in the same transaction."""
        dependency = self.add()
        job = self.waiting([dependency])
        assert self.store.transition(dependency, {'queued'}, 'cancelled',
                                     102.0)
        assert self.status(job) == 'cancelled'

    def test_a_waiting_job_may_be_cancelled_and_is_not_released(self):
        """A waiting job cancelled by hand stays cancelled when its
        dependencies end."""
        dependency = self.add()
        job = self.waiting([dependency])
        assert self.store.transition(job, {'waiting'}, 'cancelled', 102.0)
        self.run(dependency)
        assert self.status(job) == 'cancelled'

    def test_an_end_counts_once(self):
        """A dependency that ends again (retried by hand after an error)
        does not count twice: its dependent still waits for the others."""
        failing, other, third = self.add(), self.add(), self.add()
        job = self.waiting([failing, other, third], onFailure='run')
        self.run(failing, status='error', output=None)
        assert self.store.retry(failing)
        self.run(failing)
        assert self.status(job) == 'waiting'
        self.run(other)
        assert self.status(job) == 'waiting'
        self.run(third)
        assert self.status(job) == 'queued'

    def test_a_joined_input_past_maxPassed_ends_in_error(self):
        """A job whose joined input would pass maxPassed ends in error,
        saying so, and is not run."""
        self.store.maxPassed = 100
        dependency = self.add()
        job = self.waiting([dependency], passResults=True)
        self.run(dependency, output=json.dumps('x' * 200))
        row = self.store.get(job)
        assert row['status'] == 'error'
        assert 'more than 100 bytes' in row['error']
        assert row['input'] == '"own"'

    def test_dependencies_and_dependents_are_listed(self):
        """dependencies() and dependents() list the jobs on either side of
        the edges, by id, with their task and status, up to limit."""
        first, second = self.add(task='a'), self.add(task='b')
        job = self.waiting([second, first])
        assert self.store.dependencies(job) == [
            dict(id=first, task='a', status='queued'),
            dict(id=second, task='b', status='queued')]
        assert self.store.dependents(first) == [
            dict(id=job, task='echo', status='waiting')]
        assert self.store.dependencies(job, limit=1) == [
            dict(id=first, task='a', status='queued')]
        assert self.store.dependents(job) == []

    def test_retention_keeps_what_an_unfinished_job_waits_for(self):
        """purge() and clean() leave a finished job that an unfinished one
        waits for, and take it once that one has ended too."""
        done, open = self.add(), self.add()
        self.run(done)
        job = self.waiting([done, open])
        assert self.store.purge(['completed'], 1000.0, 10) == 0
        assert self.store.clean(['completed']) == 0
        assert self.status(done) == 'completed'
        self.run(open)
        self.run(job, now=102.0)
        assert self.store.clean(['completed']) == 3
        assert self.store.dependencies(job) == []

    def test_watchers_hear_of_releases_after_the_commit(self):
        """watchWaits' callbacks are told [(id, status)] of the jobs a
        commit released or ended."""
        heard = []
        self.store.watchWaits(heard.append)
        dependency = self.add()
        job = self.waiting([dependency])
        self.run(dependency)
        assert heard == [[(job, 'queued')]]

    def test_a_rolled_back_end_releases_nothing(self):
        """An end inside a transaction that rolls back leaves its
        dependent waiting."""
        dependency = self.add()
        job = self.waiting([dependency])
        self.store.claim(101.0, 1, 'tok', lambda r, n: n, 101.0)
        with pytest.raises(RuntimeError):
            with self.store.transaction():
                self.store.finish(dependency, 'tok', 'completed', '1', None,
                                  None, 101.0)
                raise RuntimeError('roll back')
        assert self.status(job) == 'waiting'
        assert self.status(dependency) == 'processing'

    def test_concurrent_ends_of_a_fan_in_release_it_once(self):
        """Twenty threads each ending one dependency of the same fan-in
        at once: it is queued exactly once, by the last end."""
        deps = [self.add() for _ in range(20)]
        job = self.waiting(deps)
        rows = self.store.claim(101.0, 20, 'many', lambda r, n: n, 101.0)
        assert len(rows) == 20
        heard = []
        self.store.watchWaits(heard.append)
        errors = runThreads(lambda index: self.store.finish(
            deps[index], 'many', 'completed', '1', None, None, 102.0), 20)
        assert errors == []
        assert self.status(job) == 'queued'
        assert heard == [[(job, 'queued')]]
        events = json.loads(self.store.get(job)['events'])
        assert [e['event'] for e in events].count('queued') == 1

    def test_an_add_racing_the_end_of_its_dependency_is_released(self):
        """An add waiting for a job and that job's end, at the same time,
        thirty times: each time the new job is queued (the end counted
        once, by the add or by the end), never left waiting."""
        for round in range(30):
            dependency = self.add()
            token = f'race{round}'
            assert self.store.claim(101.0, 1, token, lambda r, n: n, 101.0)
            added = []

            def race(index):
                if index == 0:
                    self.store.finish(dependency, token, 'completed', '1',
                                      None, None, 102.0)
                else:
                    added.append(self.waiting([dependency]))
            assert runThreads(race, 2) == []
            assert self.status(added[0]) == 'queued', round
            self.run(added[0], now=103.0)

    def test_ends_recorded_together_count_down_once_each(self):
        """finishMany ending three dependencies of one job releases it
        once; a batch with a failure among them cancels it once."""
        for failing in (False, True):
            deps = [self.add() for _ in range(3)]
            job = self.waiting(deps)
            token = f'batch{failing}'
            assert len(self.store.claim(101.0, 3, token, lambda r, n: n,
                                        101.0)) == 3
            status = ['completed', 'error' if failing else 'completed',
                      'completed']
            assert self.store.finishMany([
                (jobid, token, end, '1', None, None, 102.0, None, None,
                 None, None) for jobid, end in zip(deps, status)]) == \
                [True] * 3
            row = self.store.get(job)
            assert row['status'] == ('cancelled' if failing else 'queued')
            names = [e['event'] for e in json.loads(row['events'])]
            assert names.count(row['status']) == 1
            if not failing:
                self.run(job, now=103.0)

    def test_a_batch_of_mixed_ends_is_recorded_as_single_ends_would_be(self):
        """One finishMany of every kind of end: a completed job releases
        its dependent and owes its call; an error with attempts left goes
        back to the queue at its due time with its attempt in the history;
        a final error cancels its dependent; a job cancelled while it ran
        keeps its cancel (its claim is gone); a run ended twice in the
        batch, and a short run whose start comes with its end, are
        recorded once each."""
        done = self.store.add('echo', '1', 'queued', None, 100.0,
                              notify='http://caller/')
        retried, failed, cancelled, twice, short = [
            self.add() for _ in range(5)]
        released, dropped = self.waiting([done]), self.waiting([failed])
        assert len(self.store.claim(101.0, 5, 'b', lambda r, n: n,
                                    101.0)) == 5
        assert self.store.claim(101.0, 1, 'b', lambda r, n: n) != []
        assert self.store.transition(cancelled, {'processing'},
                                     'cancelled', 101.5)
        start = '{"event": "started"}'
        assert self.store.finishMany([
            (done, 'b', 'completed', '"ok"', None, None, 102.0, None, None,
             None, None),
            (retried, 'b', 'queued', None, 'busy', 'tb', 102.0, 160.0,
             '{"error": "busy"}', None, None),
            (failed, 'b', 'error', None, 'no', 'tb', 102.0, None, None,
             None, None),
            (cancelled, 'b', 'completed', '"late"', None, None, 102.0, None,
             None, None, None),
            (twice, 'b', 'completed', '"1"', None, None, 102.0, None, None,
             None, None),
            (twice, 'b', 'error', None, 'again', None, 102.0, None, None,
             None, None),
            (short, 'b', 'completed', '"s"', None, None, 102.0, None, None,
             None, None, 101.8, start)]) == [
                True, True, True, False, True, False, True]
        rows = {jobid: self.store.get(jobid) for jobid in (
            done, retried, failed, cancelled, twice, short, released,
            dropped)}
        assert [rows[i]['status'] for i in (
            done, retried, failed, cancelled, twice, short, released,
            dropped)] == ['completed', 'queued', 'error', 'cancelled',
                          'completed', 'completed', 'queued', 'cancelled']
        assert (rows[retried]['due'], json.loads(rows[retried]['history'])
                ) == (160.0, [{'error': 'busy'}])
        assert rows[cancelled]['output'] is None
        assert (rows[twice]['output'], rows[twice]['error']) == ('"1"', None)
        assert (rows[short]['started'], rows[short]['attempts']) == (
            101.8, 1)
        assert [e['event'] for e in json.loads(rows[short]['events'])][
            -1:] == ['started']
        assert self.store.nextNotification() == 102.0
        call, = self.store.claimNotifications(102.0, 10, 'n', 60.0)
        assert (call['job'], call['status']) == (done, 'completed')

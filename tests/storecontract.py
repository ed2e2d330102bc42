"""The IJobStore contract, written once as tests.

Subclass ``StoreContractTests`` and define ``makeStore(tmp_path)``; both
stores run these same tests unchanged: SQLite (a file, and in memory) and
PostgreSQL.
"""

import json

import pytest
from zope.interface.verify import verifyObject

from remotetask.core.entries import Entry
from remotetask.core.limits import Limit, Rate
from remotetask.errors import NoSuchJob, NotAllowed
from remotetask.interfaces import IJobStore
from tests.storewaiting import WaitingContractTests
from tests.threads import runThreads


def nextDueIn(seconds):
    """A nextDue callback that schedules ``seconds`` after ``now``."""
    return lambda row, now: now + seconds


def claimOne(store, now, token, nextDue=None, started=None):
    """Claim one run, started at ``started`` (``now`` when None); its row,
    or None when nothing is due."""
    rows = store.claim(now, 1, token, nextDue or nextDueIn(60),
                       now if started is None else started)
    return rows[0] if rows else None


class StoreContractTests(WaitingContractTests):

    def makeStore(self, tmp_path):
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _store(self, tmp_path):
        self.store = self.makeStore(tmp_path)
        yield
        self.store.close()

    def add(self, task='echo', input='1', status='queued', schedule=None,
            now=100.0):
        return self.store.add(task, input, status, schedule, now)

    def claim(self, now=100.0, token='t', nextDue=nextDueIn(60)):
        """Claim one run, started at once; its row or None."""
        rows = self.store.claim(now, 1, token, nextDue, now + 0.5)
        assert len(rows) <= 1
        return rows[0] if rows else None

    def test_provides_interface(self):
        """The store provides every method of IJobStore."""
        assert verifyObject(IJobStore, self.store)

    def test_ids_are_sequential_from_one(self):
        """A new store hands out ids 1, 2, 3 ..."""
        assert [self.add() for _ in range(3)] == [1, 2, 3]

    def test_get_returns_what_was_added(self):
        """get() returns the row as added, with empty results."""
        jobid = self.add(task='t', input='{"a":1}', now=5.0)
        row = self.store.get(jobid)
        assert row == dict(
            id=jobid, task='t', status='queued', input='{"a":1}',
            output=None, error=None, traceback=None, created=5.0,
            started=None, completed=None, schedule=None, due=None,
            attempts=0, token=None, history=None, missed=0, claimed=None,
            priority=0, key=None, maxattempts=None, server=None,
            progress=None, events=None, notify=None, addedby=None)

    def test_get_unknown_id_raises_NoSuchJob(self):
        """An unknown id is a NoSuchJob, which is a KeyError."""
        with pytest.raises(NoSuchJob) as info:
            self.store.get(42)
        assert isinstance(info.value, KeyError)
        assert '42' in str(info.value)

    def test_addMany_returns_ids_in_order(self):
        """addMany() stores every entry and returns the ids in order."""
        first = self.add()
        ids = self.store.addMany(
            [('a', '1', 'queued', None), ('b', '2', 'start later', None)],
            1.0)
        assert ids == [first + 1, first + 2]
        assert self.store.get(ids[1])['status'] == 'start later'
        assert self.store.get(ids[0])['task'] == 'a'

    def test_ids_and_count_page_through_the_store(self):
        """ids() pages in ascending order; count() counts every job."""
        for _ in range(5):
            self.add()
        assert self.store.count() == 5
        assert self.store.ids() == [1, 2, 3, 4, 5]
        assert self.store.ids(after=2, limit=2) == [3, 4]
        assert self.store.ids(after=5) == []

    def test_find_filters_by_status_and_task(self):
        """find() pages through jobs matching status and task."""
        self.add(task='a')
        self.add(task='b')
        self.add(task='a', status='start later')
        self.add(task='a')
        assert [r['id'] for r in self.store.find(task='a')] == [1, 3, 4]
        assert [r['id'] for r in self.store.find(status='queued')] == [1, 2, 4]
        assert [r['id'] for r in
                self.store.find(status='queued', task='a')] == [1, 4]
        assert [r['id'] for r in self.store.find(after=1, limit=2)] == [2, 3]

    def test_transition_is_a_compare_and_set(self):
        """transition() changes the status only from the given ones."""
        jobid = self.add(status='start later')
        assert not self.store.transition(jobid, {'delayed'}, 'queued')
        assert self.store.get(jobid)['status'] == 'start later'
        assert self.store.transition(jobid, {'start later'}, 'queued')
        assert self.store.get(jobid)['status'] == 'queued'
        with pytest.raises(NoSuchJob):
            self.store.transition(99, {'queued'}, 'cancelled')

    def test_claim_takes_queued_jobs_in_order(self):
        """Queued jobs are claimed oldest first, each once, as processing
        with the token, start time and one more attempt."""
        first, second = self.add(), self.add()
        row = self.claim(token='a')
        assert (row['id'], row['status'], row['token'], row['attempts'],
                row['started']) == (first, 'processing', 'a', 1, 100.5)
        assert self.claim(token='b')['id'] == second
        assert self.claim() is None
        assert self.store.get(first)['status'] == 'processing'

    def test_claim_skips_jobs_not_queued(self):
        """Jobs waiting to be started, cancelled or finished are not
        claimed."""
        for status in ('start later', 'cancelled', 'completed', 'error'):
            self.add(status=status)
        assert self.claim() is None
        assert not self.store.hasDue(1e12)

    def test_finish_needs_the_current_token(self):
        """Only the holder of the claim can record the end of the run."""
        jobid = self.add()
        self.claim(token='mine')
        assert not self.store.finish(jobid, 'other', 'completed', '1',
                                     None, None, 200.0)
        assert not self.store.finish(jobid, None, 'completed', '1',
                                     None, None, 200.0)
        assert self.store.get(jobid)['status'] == 'processing'
        assert self.store.finish(jobid, 'mine', 'error', None, 'bad',
                                 'Traceback', 200.0)
        row = self.store.get(jobid)
        assert (row['status'], row['error'], row['traceback'],
                row['completed'], row['token']) == (
                    'error', 'bad', 'Traceback', 200.0, None)
        assert not self.store.finish(jobid, 'mine', 'completed', '1',
                                     None, None, 300.0)

    def test_cron_jobs_get_their_first_due_time_when_first_seen(self):
        """scheduleFirstRuns() sets a due time on cron and delayed jobs
        that have none, once."""
        cron = self.add(status='cronjob', schedule='{"minute":[1]}')
        delayed = self.add(status='delayed', schedule='{"delay":5}')
        self.add()
        seen = []
        assert self.store.scheduleFirstRuns(
            10.0, lambda row, now: seen.append(row['id']) or now + row['id'])
        assert sorted(seen) == [cron, delayed]
        assert self.store.get(cron)['due'] == 10.0 + cron
        assert self.store.scheduleFirstRuns(20.0, nextDueIn(1)) == 0

    def test_cron_claim_moves_due_on_and_keeps_status(self):
        """A due cron job is claimed once per due time and stays cronjob."""
        jobid = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(60))
        assert self.claim(now=59.0) is None
        row = self.claim(now=60.0, nextDue=nextDueIn(60))
        assert (row['id'], row['status'], row['due']) == (jobid, 'cronjob',
                                                           120.0)
        assert self.claim(now=61.0) is None
        assert self.store.finish(jobid, 't', None, '"out"', None, None, 62.0)
        row = self.store.get(jobid)
        assert (row['status'], row['output']) == ('cronjob', '"out"')

    def test_delayed_job_runs_once_when_due(self):
        """A delayed job is claimed as processing once its time comes."""
        jobid = self.add(status='delayed', schedule='{"delay":5}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(5))
        assert self.claim(now=4.0) is None
        assert self.store.hasDue(5.0)
        row = self.claim(now=5.0)
        assert (row['id'], row['status']) == (jobid, 'processing')
        assert self.claim(now=100.0) is None

    def test_claim_order_is_cron_then_delayed_then_queued(self):
        """Due cron runs come before due delayed jobs, then the queue."""
        queued = self.add()
        delayed = self.add(status='delayed', schedule='{"delay":1}')
        cron = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(1))
        order = [self.claim(now=10.0, nextDue=nextDueIn(100))['id']
                 for _ in range(3)]
        assert order == [cron, delayed, queued]

    def test_hasDue(self):
        """hasDue() tells whether a claim at that time would find a run."""
        assert not self.store.hasDue(0.0)
        self.add()
        assert self.store.hasDue(0.0)
        self.claim()
        assert not self.store.hasDue(0.0)

    def test_requeue_returns_claimed_jobs_to_the_queue(self):
        """requeue() puts jobs left processing back, without their claim."""
        jobid = self.add()
        self.add()
        self.claim(token='old')
        assert self.store.requeue(['processing'], 'queued') == 1
        row = self.store.get(jobid)
        assert (row['status'], row['token']) == ('queued', None)
        assert not self.store.finish(jobid, 'old', 'completed', '1', None,
                                     None, 1.0)
        assert self.claim()['id'] == jobid

    def test_setSchedule_clears_the_due_time(self):
        """A new schedule is picked up by the next scheduleFirstRuns."""
        jobid = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(60))
        self.store.setSchedule(jobid, '{"minute":[2]}')
        row = self.store.get(jobid)
        assert (row['schedule'], row['due']) == ('{"minute":[2]}', None)
        with pytest.raises(NoSuchJob):
            self.store.setSchedule(99, '{}')

    def test_clean_deletes_by_status_and_never_reuses_ids(self):
        """clean() removes the jobs in the given states; ids go on
        increasing afterwards."""
        for status in ('completed', 'error', 'queued', 'cancelled'):
            self.add(status=status)
        assert self.store.clean(['completed', 'cancelled']) == 2
        assert self.store.ids() == [2, 3]
        assert self.store.clean(['completed']) == 0
        assert self.add() == 5

    def test_concurrent_claims_hand_out_each_job_once(self):
        """Eight threads claiming three at a time get every job exactly
        once."""
        total = 200
        self.store.addMany([('echo', '1', 'queued', None)] * total, 0.0)
        claimed = []

        def worker(index):
            while rows := self.store.claim(1.0, 3, f'w{index}', nextDueIn(1),
                                           1.0, scheduled=False):
                claimed.extend(row['id'] for row in rows)

        assert runThreads(worker, 8) == []
        assert sorted(claimed) == list(range(1, total + 1))

    def test_release_puts_a_claimed_job_back(self):
        """release() with the current token re-queues the job; with any
        other token it changes nothing."""
        jobid = self.add()
        self.claim(token='mine')
        assert not self.store.release(jobid, 'other')
        assert self.store.get(jobid)['status'] == 'processing'
        assert self.store.release(jobid, 'mine')
        row = self.store.get(jobid)
        assert (row['status'], row['token']) == ('queued', None)
        assert not self.store.release(jobid, 'mine')

    def test_release_claims_puts_back_every_job_of_the_claims_given(self):
        """releaseClaims() re-queues the jobs of the tokens given, however
        many each took, leaves other claims alone and counts what it put
        back; the jobs can be claimed again."""
        lost = [self.add(), self.add()]
        kept = self.add()
        assert [row['id'] for row in self.store.claim(
            100.0, 2, 'lost', nextDueIn(60), scheduled=False)] == lost
        self.claim(token='kept')
        assert self.store.releaseClaims(['lost', 'unknown']) == 2
        assert [(self.store.get(jobid)['status'],
                 self.store.get(jobid)['token']) for jobid in lost] == [
            ('queued', None), ('queued', None)]
        assert self.store.get(kept)['token'] == 'kept'
        assert self.store.releaseClaims(['lost']) == 0
        assert [row['id'] for row in self.store.claim(
            100.0, 5, 'again', nextDueIn(60), scheduled=False)] == lost

    def test_statuses_reads_many_jobs_at_once(self):
        """statuses() gives the status of each job that exists, leaving
        out the ids that do not."""
        queued, cancelled = self.add(), self.add()
        self.store.transition(cancelled, {'queued'}, 'cancelled')
        assert self.store.statuses([queued, cancelled, 999, 2 ** 40]) == {
            queued: 'queued', cancelled: 'cancelled'}
        assert self.store.statuses([]) == {}

    def test_claim_takes_up_to_limit_in_one_call(self):
        """claim(limit=n) hands out at most n runs, cron first, then
        delayed, then queued oldest first; the rest wait for the next."""
        queued = [self.add() for _ in range(4)]
        delayed = self.add(status='delayed', schedule='{"delay": 1}')
        cron = self.add(status='cronjob', schedule='{"minute": [0]}')
        self.store.scheduleFirstRuns(0.0, lambda row, now: 5.0)
        rows = self.store.claim(10.0, 4, 't', nextDueIn(60), 10.0)
        assert [row['id'] for row in rows] == [cron, delayed] + queued[:2]
        rows = self.store.claim(10.0, 10, 'u', nextDueIn(60), 10.0)
        assert [row['id'] for row in rows] == queued[2:]
        assert self.store.claim(10.0, 10, 'v', nextDueIn(60), 10.0) == []

    def test_a_claim_without_scheduled_looks_at_queued_jobs_only(self):
        """scheduled=False, the cheap claim of a wake-up, leaves due cron
        and delayed runs for the next full claim."""
        self.add(status='delayed', schedule='{"delay": 1}')
        self.store.scheduleFirstRuns(0.0, lambda row, now: 5.0)
        queued = self.add()
        rows = self.store.claim(10.0, 5, 't', nextDueIn(60), 10.0,
                                scheduled=False)
        assert [row['id'] for row in rows] == [queued]
        assert self.store.claim(10.0, 5, 't', nextDueIn(60), 10.0,
                                scheduled=False) == []

    def test_attempts_count_runs_that_started(self):
        """A run claimed without started counts no attempt until
        markStarted says it began, and then only under its own token; a
        claim with started counts it at once."""
        waiting, direct = self.add(), self.add()
        first, = self.store.claim(100.0, 1, 'w', nextDueIn(60))
        row = self.store.get(waiting)
        assert (first['id'], row['attempts'], row['started']) == (
            waiting, 0, None)
        assert row['claimed'] is not None
        assert self.store.markStarted([(waiting, 'other')], 101.0) == 0
        assert self.store.markStarted([(waiting, 'w')], 101.0) == 1
        row = self.store.get(waiting)
        assert (row['attempts'], row['started']) == (1, 101.0)
        self.store.claim(100.0, 1, 'd', nextDueIn(60), started=102.0)
        row = self.store.get(direct)
        assert (row['attempts'], row['started']) == (1, 102.0)

    def test_release_of_a_started_run_gives_its_attempt_back(self):
        """A run put back because the server stops is not an attempt; one
        put back before it started had none to give."""
        jobid = self.add()
        self.claim(token='a')
        assert self.store.release(jobid, 'a', started=True)
        assert self.store.get(jobid)['attempts'] == 0
        self.store.claim(100.0, 1, 'b', nextDueIn(60))
        assert self.store.release(jobid, 'b', started=False)
        assert self.store.get(jobid)['attempts'] == 0

    def test_a_transaction_groups_writes_and_commits_once(self):
        """Writes inside transaction() are one unit: afterCommit callbacks
        run after it ends, in order, and the writes are then visible."""
        seen = []
        with self.store.transaction():
            first = self.add()
            self.store.afterCommit(lambda: seen.append(
                self.store.get(first)['status']))
            second = self.add()
            self.store.transition(first, {'queued'}, 'cancelled')
            assert seen == []
        assert seen == ['cancelled']
        assert self.store.get(second)['status'] == 'queued'
        self.store.afterCommit(lambda: seen.append('now'))
        assert seen == ['cancelled', 'now']

    def test_a_transaction_that_raises_writes_nothing(self):
        """A raise inside transaction() rolls back every write in it, and
        its afterCommit callbacks never run."""
        kept = self.add()
        seen = []
        with pytest.raises(ZeroDivisionError):
            with self.store.transaction():
                self.add()
                self.store.transition(kept, {'queued'}, 'cancelled')
                self.store.afterCommit(lambda: seen.append('committed'))
                1 / 0
        assert seen == []
        assert self.store.ids() == [kept]
        assert self.store.get(kept)['status'] == 'queued'
        assert self.add() > kept

    def test_a_refusal_inside_a_transaction_leaves_the_rest(self):
        """A method that refuses (NoSuchJob) writes nothing, so the
        caller may go on within the same transaction."""
        with self.store.transaction():
            jobid = self.add()
            with pytest.raises(NoSuchJob):
                self.store.transition(jobid + 100, {'queued'}, 'cancelled')
            assert self.store.transition(jobid, {'queued'}, 'cancelled')
        assert self.store.get(jobid)['status'] == 'cancelled'

    def test_finish_as_a_retry_waits_until_due(self):
        """finish(status='queued', due=...) puts the job back in the queue,
        claimable only from its due time, with the failure in history."""
        jobid = self.add()
        self.claim(now=100.0, token='one')
        assert self.store.finish(jobid, 'one', 'queued', None, 'first',
                                 None, 101.0, due=150.0,
                                 attempt='{"attempt":1,"error":"first"}')
        row = self.store.get(jobid)
        assert (row['status'], row['due'], row['error']) == (
            'queued', 150.0, 'first')
        assert self.claim(now=149.0) is None
        assert not self.store.hasDue(149.0)
        row = self.claim(now=150.0, token='two')
        assert (row['id'], row['attempts']) == (jobid, 2)
        assert self.store.finish(jobid, 'two', 'error', None, 'second',
                                 None, 151.0,
                                 attempt='{"attempt":2,"error":"second"}')
        assert json.loads(self.store.get(jobid)['history']) == [
            {'attempt': 1, 'error': 'first'},
            {'attempt': 2, 'error': 'second'}]

    def test_purge_deletes_old_finished_jobs_in_batches(self):
        """purge() deletes at most limit jobs per status that ended
        before the cut-off, oldest ids first."""
        ids = []
        for ended in (10.0, 20.0, 30.0, 40.0):
            jobid = self.add()
            self.claim(token=f't{jobid}')
            self.store.finish(jobid, f't{jobid}', 'completed', None, None,
                              None, ended)
            ids.append(jobid)
        waiting = self.add()
        assert self.store.purge(['completed', 'error'], 35.0, 2) == 2
        assert self.store.ids() == [ids[2], ids[3], waiting]
        assert self.store.purge(['completed'], 35.0, 2) == 1
        assert self.store.purge(['completed'], 35.0, 2) == 0
        assert self.store.ids() == [ids[3], waiting]

    def test_skipRuns_is_a_compare_and_set_on_due(self):
        """skipRuns() moves a cron job's due time and counts the missed
        runs, only from the due time given."""
        jobid = self.add(status='cronjob', schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(60))
        assert not self.store.skipRuns(jobid, 59.0, 500.0, 3)
        assert self.store.skipRuns(jobid, 60.0, 500.0, 3)
        assert self.store.skipRuns(jobid, 500.0, 500.0, 2)
        row = self.store.get(jobid)
        assert (row['due'], row['missed']) == (500.0, 5)
        queued = self.add()
        assert not self.store.skipRuns(queued, None, 1.0, 1)

    # Looking: the dashboard and /metrics.

    def test_counts_by_status_and_task(self):
        """counts() counts the jobs of each status and task, leaving out
        combinations without jobs."""
        for task, status in [('a', 'queued'), ('a', 'queued'), ('b', 'queued'),
                             ('a', 'error'), ('b', 'cronjob')]:
            self.add(task=task, status=status)
        found = sorted((row['status'], row['task'], row['count'])
                       for row in self.store.counts())
        assert found == [('cronjob', 'b', 1), ('error', 'a', 1),
                         ('queued', 'a', 2), ('queued', 'b', 1)]

    def test_oldestQueued_is_the_wait_of_the_next_claim(self):
        """oldestQueued() says since when the job the next claim takes has
        waited: its creation, or the due time of a retry; None when no
        queued job is due."""
        assert self.store.oldestQueued(1000.0) is None
        self.add(status='start later', now=10.0)
        first = self.add(now=20.0)
        self.add(now=30.0)
        assert self.store.oldestQueued(1000.0) == 20.0
        self.claim(now=100.0, token='t')
        assert self.store.finish(first, 't', 'queued', None, 'again', None,
                                 101.0, due=500.0)
        assert self.store.oldestQueued(1000.0) == 500.0
        assert self.store.oldestQueued(400.0) == 30.0

    def test_newest_pages_newest_first_by_keyset(self):
        """newest() gives previews newest first, and its cursor leads
        through every job once, whatever the page size."""
        ids = [self.add(task='t', input=f'"{i}"', now=float(i))
               for i in range(7)]
        rows, cursor = self.store.newest(limit=3)
        assert [row['id'] for row in rows] == ids[:-4:-1]
        assert set(rows[0]) == {'id', 'task', 'status', 'created', 'started',
                                'completed', 'due', 'attempts', 'missed',
                                'input', 'error', 'progress'}
        assert (rows[0]['input'], rows[0]['created']) == ('"6"', 6.0)
        seen = [row['id'] for row in rows]
        while cursor is not None:
            rows, cursor = self.store.newest(before=cursor, limit=3)
            seen += [row['id'] for row in rows]
        assert seen == ids[::-1]

    def test_newest_filters_by_status_task_and_text(self):
        """newest() keeps the jobs matching status, task and text (in the
        input or the error, ignoring case), each alone or together."""
        self.add(task='mail', input='{"to":"Ann"}')
        self.add(task='mail', input='{"to":"bob"}', status='error')
        self.add(task='video', input='{"file":"ann.mp4"}')
        jobid = self.add(task='video', input='{}')
        self.claim(token='t')
        self.store.finish(1, 't', 'error', None, 'Mailbox of ANN full',
                          None, 1.0)

        def ids(**filters):
            return [row['id'] for row in self.store.newest(**filters)[0]]
        assert ids(status='error') == [2, 1]
        assert ids(task='video') == [jobid, 3]
        assert ids(text='ann') == [3, 1]
        assert ids(status='error', task='mail', text='BOB') == [2]
        assert ids(task='mail', text='full') == [1]
        assert ids(status='queued', task='mail') == []

    def test_newest_cuts_previews_and_bounds_its_look(self):
        """Inputs and errors come cut to 200 characters; a text search
        looks at no more than scan jobs per page, and its cursor goes on
        below the last one looked at."""
        self.add(input='"needle"')
        for _ in range(4):
            self.add(input='"' + 'x' * 300 + '"')
        rows, cursor = self.store.newest(limit=2)
        assert len(rows[0]['input']) == 200
        rows, cursor = self.store.newest(text='needle', limit=2, scan=3)
        assert (rows, cursor) == ([], 3)
        rows, cursor = self.store.newest(text='needle', limit=2, scan=3,
                                         before=3)
        assert ([row['id'] for row in rows], cursor) == ([1], None)

    def test_retry_queues_a_failed_job_afresh(self):
        """retry() moves an error job back to the queue, due at once with
        no attempts used; other states are left alone."""
        jobid = self.add()
        self.claim(now=100.0, token='t')
        self.store.finish(jobid, 't', 'queued', None, 'e1', None, 101.0,
                          due=150.0, attempt='{"attempt":1}')
        self.claim(now=150.0, token='u')
        self.store.finish(jobid, 'u', 'error', None, 'e2', None, 151.0,
                          attempt='{"attempt":2}')
        assert self.store.retry(jobid)
        row = self.store.get(jobid)
        assert (row['status'], row['due'], row['attempts'], row['token']) == (
            'queued', None, 0, None)
        assert len(json.loads(row['history'])) == 2
        assert not self.store.retry(jobid)
        assert self.claim(now=152.0)['id'] == jobid
        with pytest.raises(NoSuchJob):
            self.store.retry(99)

    def test_runNow_makes_a_scheduled_job_due(self):
        """runNow() makes a cron or delayed job due at once, unless a run
        of it is in progress; other jobs are left alone."""
        cron = self.add(status='cronjob', schedule='{"minute":[1]}')
        queued = self.add()
        self.store.scheduleFirstRuns(0.0, nextDueIn(3600))
        assert self.claim(now=10.0)['id'] == queued
        assert self.store.runNow(cron, 10.0)
        assert self.store.get(cron)['due'] == 10.0
        row = self.claim(now=10.0, token='c', nextDue=nextDueIn(3600))
        assert (row['id'], row['due']) == (cron, 3610.0)
        assert not self.store.runNow(cron, 20.0)
        self.store.finish(cron, 'c', None, None, None, None, 21.0)
        assert self.store.runNow(cron, 30.0)
        assert not self.store.runNow(queued, 30.0)
        with pytest.raises(NoSuchJob):
            self.store.runNow(99, 30.0)

    # Queues that route, rank, limit and deduplicate.

    def claimed(self, now=100.0, limit=10, tasks=None, limits=None,
                scheduled=True, token='t'):
        """The ids one claim takes, started at ``now``."""
        return [row['id'] for row in self.store.claim(
            now, limit, token, nextDueIn(3600), now, scheduled,
            tasks=tasks, limits=limits)]

    def finished(self, jobid, token='t'):
        assert self.store.finish(jobid, token, 'completed', None, None,
                                 None, 200.0)

    def test_add_keeps_priority_key_due_and_maxattempts(self):
        """add() keeps a job's options; a job with a due time is not
        claimed before it."""
        jobid = self.store.add('echo', '1', 'queued', None, 100.0,
                               priority=7, key='k', due=150.0,
                               maxAttempts=5)
        row = self.store.get(jobid)
        assert (row['priority'], row['key'], row['due'],
                row['maxattempts']) == (7, 'k', 150.0, 5)
        assert self.claimed(now=149.0) == []
        assert not self.store.hasDue(149.0)
        assert self.claimed(now=150.0) == [jobid]

    def test_a_key_held_by_an_unfinished_job_adds_nothing(self):
        """While a job of a task with a key is queued, running or waiting
        to be started, adding its key again returns that job and adds
        nothing; once it has finished, the key makes a new job. Other
        tasks' keys are their own."""
        first = self.store.add('echo', '1', 'start later', None, 1.0,
                               key='k')
        assert self.store.add('echo', '2', 'queued', None, 2.0,
                              key='k', priority=9) == first
        other = self.store.add('other', '1', 'queued', None, 2.0, key='k')
        assert other != first
        assert self.store.transition(first, {'start later'}, 'queued')
        assert self.claimed(tasks=['echo']) == [first]
        assert self.store.add('echo', '3', 'queued', None, 3.0,
                              key='k') == first
        self.finished(first)
        second = self.store.add('echo', '4', 'queued', None, 4.0, key='k')
        assert second not in (first, other)
        assert self.store.transition(second, {'queued'}, 'cancelled')
        third = self.store.add('echo', '5', 'queued', None, 5.0, key='k')
        assert third not in (first, other, second)
        assert self.store.count() == 4
        assert self.store.get(first)['input'] == '1'

    def test_keys_in_a_batch_are_kept_as_singly(self):
        """addMany() with keys answers, for a key taken before or earlier
        in the batch, the job that holds it."""
        held = self.store.add('echo', '1', 'queued', None, 1.0, key='a')
        ids = self.store.addMany([
            ('echo', '2', 'queued', None, 0, 'a'),
            ('echo', '3', 'queued', None, 0, 'b'),
            ('echo', '4', 'queued', None),
            ('echo', '5', 'queued', None, 0, 'b')], 2.0)
        assert ids[0] == held and ids[1] == ids[3]
        assert len(set(ids)) == 3
        assert self.store.count() == 3

    def test_concurrent_adds_of_one_key_make_one_job(self):
        """Eight threads adding the same key at once get one job's id."""
        ids = []

        def adder(index):
            ids.append(self.store.add('echo', str(index), 'queued', None,
                                      1.0, key='once'))

        assert runThreads(adder, 8) == []
        assert len(ids) == 8 and len(set(ids)) == 1
        assert self.store.count() == 1

    def test_retry_waits_while_another_job_holds_the_key(self):
        """A failed job cannot be queued again while a newer job of its
        task holds its key (NotAllowed, nothing written); once that one
        has finished, it can."""
        failed = self.store.add('echo', '1', 'queued', None, 1.0, key='k')
        assert self.claimed() == [failed]
        assert self.store.finish(failed, 't', 'error', None, 'bad', None,
                                 2.0)
        newer = self.store.add('echo', '2', 'queued', None, 3.0, key='k')
        with pytest.raises(NotAllowed, match=str(newer)):
            self.store.retry(failed)
        assert self.store.get(failed)['status'] == 'error'
        assert self.store.transition(newer, {'queued'}, 'cancelled')
        assert self.store.retry(failed)
        assert self.store.add('echo', '3', 'queued', None, 4.0,
                              key='k') == failed

    def test_claim_takes_higher_priority_first(self):
        """Queued jobs are claimed by priority, highest first, then oldest
        first, across tasks; within what a claim may take."""
        low = self.store.add('a', '1', 'queued', None, 1.0, priority=-5)
        plain = self.store.add('b', '1', 'queued', None, 1.0)
        high = self.store.add('a', '1', 'queued', None, 1.0, priority=5)
        later = self.store.add('b', '1', 'queued', None, 1.0, priority=5)
        assert self.claimed(limit=3, tasks=['a', 'b']) == [high, later,
                                                           plain]
        assert self.claimed(tasks=['a', 'b']) == [low]

    def test_claim_takes_only_the_tasks_asked_for(self):
        """Queued, delayed and cron jobs of other tasks are left for the
        servers that have them; tasks=None takes any task."""
        mine = self.add(task='mine')
        theirs = self.add(task='theirs')
        theirsDelayed = self.add(task='theirs', status='delayed',
                                 schedule='{"delay":1}')
        theirsCron = self.add(task='theirs', status='cronjob',
                              schedule='{"minute":[1]}')
        self.store.scheduleFirstRuns(0.0, nextDueIn(1))
        assert self.claimed(tasks=['mine', 'absent']) == [mine]
        assert self.claimed(tasks=[]) == []
        assert sorted(self.claimed()) == sorted(
            [theirs, theirsDelayed, theirsCron])

    def test_a_concurrency_limit_holds_and_blocks_no_other_task(self):
        """At most concurrency runs of a task hold a claim; the jobs held
        back stay queued with no attempt, other tasks' jobs are claimed
        past them, and an ended run makes room for the next."""
        limited = [self.add(task='slow') for _ in range(4)]
        free = [self.add(task='fast') for _ in range(2)]
        limits = {'slow': Limit(2, None)}
        assert self.claimed(limits=limits) == limited[:2] + free
        assert self.claimed(limits=limits) == []
        row = self.store.get(limited[2])
        assert (row['status'], row['attempts'], row['token']) == (
            'queued', 0, None)
        self.finished(limited[0])
        assert self.claimed(limits=limits) == [limited[2]]
        assert self.claimed(limits={'slow': Limit(4, None)}) == [
            limited[3]]

    def test_cron_and_delayed_runs_count_and_wait_for_the_limit(self):
        """A running cron run and a delayed job count against their task's
        concurrency limit, and wait for it as queued jobs do."""
        cron = self.add(task='slow', status='cronjob',
                        schedule='{"minute":[1]}')
        delayed = self.add(task='slow', status='delayed',
                           schedule='{"delay":1}')
        queued = self.add(task='slow')
        self.store.scheduleFirstRuns(0.0, nextDueIn(1))
        limits = {'slow': Limit(1, None)}
        assert self.claimed(limits=limits) == [cron]
        assert self.claimed(limits=limits) == []
        assert self.store.finish(cron, 't', None, None, None, None, 101.0)
        assert self.claimed(limits=limits) == [delayed]
        self.finished(delayed)
        assert self.claimed(limits=limits, scheduled=False) == [queued]

    def test_a_rate_limit_counts_starts_in_a_sliding_window(self):
        """At most rate.count runs of a task are claimed in any
        rate.seconds, wherever the window starts; the others wait,
        queued, for room in it."""
        ids = [self.add(task='api') for _ in range(6)]
        limits = {'api': Limit(None, Rate(2, 10.0))}
        assert self.claimed(now=100.0, limit=1, limits=limits) == ids[:1]
        assert self.claimed(now=105.0, limits=limits) == ids[1:2]
        assert self.claimed(now=109.0, limits=limits) == []
        assert self.store.get(ids[2])['status'] == 'queued'
        assert self.claimed(now=110.5, limits=limits) == ids[2:3]
        assert self.claimed(now=114.0, limits=limits) == []
        assert self.claimed(now=115.5, limits=limits) == ids[3:4]
        assert self.claimed(now=200.0, limits=limits) == ids[4:6]

    def test_priorities_order_claims_within_the_limits(self):
        """A limited task's high-priority jobs take what its limit allows,
        and the claim goes on with lower-priority jobs of other tasks."""
        urgent = [self.store.add('slow', '1', 'queued', None, 1.0,
                                 priority=10) for _ in range(3)]
        normal = [self.add(task='fast') for _ in range(2)]
        got = self.claimed(limit=3, tasks=['slow', 'fast'],
                           limits={'slow': Limit(1, None)})
        assert got == [urgent[0], *normal]

    def test_concurrent_claims_never_exceed_a_limit(self):
        """Eight threads claiming at once, never finishing, hold at most
        the limit's runs of a task between them, and take every job of
        the unlimited one."""
        self.store.addMany([('slow', '1', 'queued', None)] * 20
                           + [('fast', '1', 'queued', None)] * 20, 0.0)
        limits = {'slow': Limit(3, None)}
        claimed = []

        def worker(index):
            while rows := self.store.claim(
                    1.0, 2, f'w{index}', nextDueIn(1), 1.0, scheduled=False,
                    tasks=['slow', 'fast'], limits=limits):
                claimed.extend(row['task'] for row in rows)

        assert runThreads(worker, 8) == []
        assert sorted(claimed) == ['fast'] * 20 + ['slow'] * 3

    def test_a_run_records_the_server_that_started_it(self):
        """server is set when a run starts (at the claim or markStarted),
        not when it is only claimed, and stays after the run."""
        waiting, direct = self.add(), self.add()
        self.store.claim(100.0, 1, 'w', nextDueIn(60))
        assert self.store.get(waiting)['server'] is None
        self.store.markStarted([(waiting, 'w')], 101.0)
        assert self.store.get(waiting)['server'] == self.store.serverId
        assert self.claimed(now=102.0) == [direct]
        self.finished(direct)
        assert self.store.get(direct)['server'] == self.store.serverId
        assert self.store.serverId is not None

    def events(self, jobid):
        return [event['event'] if 'attempt' not in event
                else (event['event'], event['attempt'])
                for event in json.loads(self.store.get(jobid)['events']
                                        or '[]')]

    def test_each_change_appends_its_event_in_its_statement(self):
        """add, a claim that starts, markStarted, finish, release,
        transition, retry and requeue each append the event they are given
        (a "started" one with its attempt number), and only when they
        change the job."""
        jobid = self.store.add('echo', '1', 'queued', None, 1.0,
                               event=event('added'))
        self.store.claim(2.0, 1, 'a', nextDueIn(60), 2.0,
                         event=event('started'))
        self.store.finish(jobid, 'a', 'queued', None, 'busy', None, 3.0,
                          due=3.0, event=event('retried'))
        self.store.claim(4.0, 1, 'b', nextDueIn(60))
        assert self.store.markStarted([(jobid, 'b')], 4.0,
                                      event=event('started')) == 1
        assert self.store.markStarted([(jobid, 'stale')], 4.0,
                                      event=event('started')) == 0
        assert self.store.release(jobid, 'b', True, event=event('put back'))
        assert not self.store.release(jobid, 'b', True, event=event('no'))
        self.store.claim(5.0, 1, 'c', nextDueIn(60), 5.0,
                         event=event('started'))
        assert self.store.requeue(['processing'], 'queued',
                                  event=event('recovered')) == 1
        self.store.claim(6.0, 1, 'd', nextDueIn(60), 6.0,
                         event=event('started'))
        self.store.finish(jobid, 'd', 'error', None, 'no', None, 7.0,
                          event=event('ended'))
        assert self.store.retry(jobid, event=event('again'))
        assert self.store.transition(jobid, {'queued'}, 'cancelled', 8.0,
                                     event=event('cancelled'))
        assert not self.store.transition(jobid, {'queued'}, 'cancelled',
                                         9.0, event=event('no'))
        assert self.events(jobid) == [
            'added', ('started', 1), 'retried', ('started', 2), 'put back',
            ('started', 2), 'recovered', ('started', 3), 'ended', 'again',
            'cancelled']

    def test_finish_may_record_the_start_of_its_run_first(self):
        """finish() given the run's start records it as markStarted()
        would (the attempt counted, this server, the progress of an
        earlier run cleared, the "started" event with its number), then
        the end, in one statement; with a stale token, neither."""
        jobid = self.store.add('echo', '1', 'queued', None, 1.0,
                               event=event('added'))
        self.store.claim(2.0, 1, 'a', nextDueIn(60))
        self.store.setProgress([(jobid, 'a', '{"fraction":0.5}')])
        assert self.store.finish(jobid, 'a', 'queued', None, 'busy', None,
                                 3.0, due=9.0, event=event('retried'))
        self.store.claim(10.0, 1, 'b', nextDueIn(60))
        assert not self.store.finish(
            jobid, 'stale', 'completed', '"no"', None, None, 11.5,
            started=11.0, startEvent=event('started'), event=event('no'))
        assert self.store.finish(
            jobid, 'b', 'completed', '"ok"', None, None, 11.5,
            started=11.0, startEvent=event('started'), event=event('ended'))
        row = self.store.get(jobid)
        assert (row['status'], row['output'], row['started'],
                row['completed'], row['attempts'], row['server'],
                row['progress']) == ('completed', '"ok"', 11.0, 11.5, 1,
                                     self.store.serverId, None)
        assert self.events(jobid) == ['added', 'retried', ('started', 1),
                                      'ended']

    def test_requeue_before_leaves_later_claims_alone(self):
        """requeue(..., before=T) moves the claims made before T only: a
        server's recovery, tried again after it has claimed jobs of its
        own, leaves those to it."""
        old, new = self.add(), self.add()
        self.store.claim(100.0, 1, 'old', nextDueIn(60))
        self.store.claim(200.0, 1, 'new', nextDueIn(60))
        assert self.store.requeue(['processing'], 'queued',
                                  before=200.0) == 1
        assert (self.store.get(old)['status'],
                self.store.get(new)['status']) == ('queued', 'processing')
        assert self.store.get(new)['token'] == 'new'

    def test_addMany_gives_every_job_its_first_event(self):
        """addMany() gives each job the event it is given, and the notify
        URL of each entry that has one."""
        ids = self.store.addMany([Entry('a', '1', 'queued', None,
                                        notify='http://x/'),
                                  ('b', '2', 'queued', None)], 1.0,
                                 event=event('added'))
        assert [self.events(jobid) for jobid in ids] == [['added']] * 2
        assert [self.store.get(jobid)['notify'] for jobid in ids] == [
            'http://x/', None]

    def test_events_keep_the_first_and_the_latest_up_to_maxEvents(self):
        """A job keeps maxEvents events: at the bound nothing is dropped;
        past it, the oldest after the first goes."""
        self.store.maxEvents = 3
        jobid = self.store.add('echo', '1', 'start later', None, 1.0,
                               event=event('added'))
        moves = [({'start later'}, 'queued'), ({'queued'}, 'start later'),
                 ({'start later'}, 'queued')]
        for number, (source, target) in enumerate(moves[:2], 1):
            self.store.transition(jobid, source, target,
                                  event=event(f'e{number}'))
        assert self.events(jobid) == ['added', 'e1', 'e2']
        self.store.transition(jobid, *moves[2], event=event('e3'))
        assert self.events(jobid) == ['added', 'e2', 'e3']

    def test_an_event_is_rolled_back_with_its_change(self):
        """An event appended in a transaction that raises is gone with
        the change it recorded."""
        jobid = self.store.add('echo', '1', 'queued', None, 1.0,
                               event=event('added'))
        with pytest.raises(ZeroDivisionError):
            with self.store.transaction():
                self.store.transition(jobid, {'queued'}, 'cancelled', 2.0,
                                      event=event('cancelled'))
                1 / 0
        assert self.events(jobid) == ['added']

    def test_progress_is_kept_for_the_current_claim_and_after_the_end(self):
        """setProgress() records a report for the current claim only; it
        stays after the end, and the next start clears it; finish() may
        record the run's last one with the end."""
        jobid = self.add()
        self.claim(token='a')
        assert self.store.setProgress([(jobid, 'stale', '{"fraction":1}'),
                                       (jobid, 'a', '{"fraction":0.5}')]) == 1
        self.store.finish(jobid, 'a', 'queued', None, 'busy', None, 101.0,
                          due=101.0)
        assert self.store.setProgress([(jobid, 'a', '{"fraction":1}')]) == 0
        assert self.store.get(jobid)['progress'] == '{"fraction":0.5}'
        self.store.claim(102.0, 1, 'b', nextDueIn(60))
        assert self.store.get(jobid)['progress'] == '{"fraction":0.5}'
        self.store.markStarted([(jobid, 'b')], 102.0)
        assert self.store.get(jobid)['progress'] is None
        assert self.store.setProgress([]) == 0
        self.store.finish(jobid, 'b', 'completed', None, None, None, 103.0,
                          progress='{"fraction":1}')
        assert self.store.get(jobid)['progress'] == '{"fraction":1}'

    def addNotifying(self, url='http://caller/'):
        return self.store.add('echo', '1', 'queued', None, 1.0, notify=url)

    def test_a_job_with_notify_owes_a_call_when_it_ends(self):
        """Ending (completed or error) owes one call, due at the end;
        a retry and a job without notify owe none."""
        quiet, told = self.add(), self.addNotifying()
        self.store.claim(2.0, 2, 't', nextDueIn(60), 2.0)
        self.store.finish(quiet, 't', 'completed', None, None, None, 3.0)
        self.store.finish(told, 't', 'queued', None, 'busy', None, 3.0,
                          due=3.0)
        assert self.store.nextNotification() is None
        self.store.claim(4.0, 1, 'u', nextDueIn(60), 4.0)
        self.store.finish(told, 'u', 'error', None, 'no', None, 5.0)
        assert self.store.nextNotification() == 5.0
        assert self.store.claimNotifications(4.9, 10, 'n', 60.0) == []
        assert self.store.claimNotifications(5.0, 10, 'n', 60.0) == [dict(
            job=told, url='http://caller/', status='error', since=5.0,
            attempts=0, token='n')]

    def test_finish_many_records_each_run_as_finish_would(self):
        """finishMany() answers for each run, in order, what finish() would:
        a run of a lost claim or with no token is not recorded, the others
        are, each with its own values, and an end owes its call."""
        done, retried, lost, told = (self.add(), self.addNotifying(),
                                     self.add(), self.addNotifying())
        unclaimed = self.add()
        self.store.claim(2.0, 4, 't', nextDueIn(60), 2.0, scheduled=False)
        assert self.store.finishMany([
            (done, 't', 'completed', '1', None, None, 3.0, None, None, None,
             None),
            (retried, 't', 'queued', None, 'busy', None, 3.0, 9.0, None,
             None, None),
            (lost, 'other', 'completed', '2', None, None, 3.0, None, None,
             None, None),
            (unclaimed, None, 'completed', '3', None, None, 3.0, None, None,
             None, None),
            (told, 't', 'error', None, 'no', 'Traceback', 4.0, None, None,
             None, None)]) == [True, True, False, False, True]
        rows = {jobid: self.store.get(jobid) for jobid in
                (done, retried, lost, told)}
        assert (rows[done]['status'], rows[done]['output']) == (
            'completed', '1')
        assert (rows[retried]['status'], rows[retried]['due']) == (
            'queued', 9.0)
        assert rows[lost]['status'] == 'processing'
        assert (rows[told]['status'], rows[told]['error']) == ('error', 'no')
        assert self.store.nextNotification() == 4.0
        assert self.store.finishMany([]) == []

    def test_cancelling_a_job_with_notify_owes_a_call(self):
        """A cancel ends the job at that moment (completed) and owes a
        call, as an end does."""
        jobid = self.addNotifying()
        assert self.store.transition(jobid, {'queued'}, 'cancelled', 7.0)
        assert self.store.get(jobid)['completed'] == 7.0
        row, = self.store.claimNotifications(7.0, 10, 'n', 60.0)
        assert (row['job'], row['status'], row['since']) == (
            jobid, 'cancelled', 7.0)

    def test_a_claimed_call_is_not_claimed_again_until_its_lease(self):
        """A claimed call is due again at its lease, should its claimer
        never report; then the old claim can no longer record it."""
        jobid = self.addNotifying()
        self.store.transition(jobid, {'queued'}, 'cancelled', 10.0)
        assert [r['job'] for r in self.store.claimNotifications(
            10.0, 10, 'first', 40.0)] == [jobid]
        assert self.store.claimNotifications(39.0, 10, 'x', 70.0) == []
        assert [r['token'] for r in self.store.claimNotifications(
            40.0, 10, 'second', 70.0)] == ['second']
        assert not self.store.recordNotification(jobid, 'first', None,
                                                 event('notified'))
        assert self.store.recordNotification(jobid, 'second', None,
                                             event('notified'))
        assert self.store.nextNotification() is None
        assert self.events(jobid) == ['notified']

    def test_a_failed_call_is_due_again_with_one_more_attempt(self):
        """recordNotification with a due time keeps the call owed, due
        then, with its attempt counted; the limit bounds a claim."""
        first, second = self.addNotifying(), self.addNotifying('http://b/')
        for jobid in (first, second):
            self.store.transition(jobid, {'queued'}, 'cancelled', 10.0)
        row, = self.store.claimNotifications(10.0, 1, 'a', 40.0)
        assert self.store.recordNotification(row['job'], 'a', 15.0,
                                             event('notify failed'))
        assert self.store.nextNotification() == 10.0
        assert [r['job'] for r in self.store.claimNotifications(
            14.0, 10, 'b', 40.0)] == [second]
        again, = self.store.claimNotifications(15.0, 10, 'c', 40.0)
        assert (again['job'], again['attempts']) == (row['job'], 1)
        assert self.events(row['job']) == ['notify failed']

    def test_a_call_owed_goes_with_its_job(self):
        """Removing a job (clean, purge) removes the call it owed."""
        cleaned, purged = self.addNotifying(), self.addNotifying()
        for jobid in (cleaned, purged):
            self.store.transition(jobid, {'queued'}, 'cancelled', 10.0)
        assert self.store.clean(['cancelled']) == 2
        assert self.store.nextNotification() is None
        jobid = self.addNotifying()
        self.store.transition(jobid, {'queued'}, 'cancelled', 10.0)
        assert self.store.purge(['cancelled'], 11.0, 10) == 1
        assert self.store.claimNotifications(20.0, 10, 'n', 60.0) == []

    def test_a_call_owed_is_rolled_back_with_the_end(self):
        """The call owed is written in the transaction of the end: one
        that raises leaves none."""
        jobid = self.addNotifying()
        with pytest.raises(ZeroDivisionError):
            with self.store.transaction():
                self.store.transition(jobid, {'queued'}, 'cancelled', 10.0)
                1 / 0
        assert self.store.nextNotification() is None

    def test_concurrent_notification_claims_hand_out_each_call_once(self):
        """Six threads claiming calls two at a time get each exactly
        once."""
        total = 60
        ids = self.store.addMany(
            [Entry('echo', '1', 'queued', None, notify='http://x/')] * total,
            0.0)
        for jobid in ids:
            self.store.transition(jobid, {'queued'}, 'cancelled', 1.0)
        claimed = []

        def worker(index):
            while rows := self.store.claimNotifications(2.0, 2, f'w{index}',
                                                        100.0):
                claimed.extend(row['job'] for row in rows)

        assert runThreads(worker, 6) == []
        assert sorted(claimed) == ids

    def test_per_minute_counters_add_up_across_calls_and_servers(self):
        """countRuns adds to a minute's counters; minutes() sums the
        servers' rows per minute and keeps the deepest queue sampled;
        purgeMinutes removes the old minutes."""
        self.store.countRuns(100, 'a', 2, 1)
        self.store.countRuns(100, 'a', 1, 0)
        self.store.countRuns(100, 'b', 4, 2)
        self.store.countRuns(101, 'a', 0, 1)
        self.add()
        self.add()
        self.store.sampleQueue(101, 'a')
        self.add()
        self.store.sampleQueue(101, 'b')
        self.store.countRuns(99, 'a', 5, 5)
        assert [dict(row) for row in self.store.minutes(100)] == [
            dict(minute=100, finished=7, failed=3, queued=None),
            dict(minute=101, finished=0, failed=1, queued=3)]
        assert self.store.purgeMinutes(101) == 3
        assert [row['minute'] for row in self.store.minutes(0)] == [101]


def event(name):
    """The JSON of a minimal event called ``name``."""
    return json.dumps(dict(at=1.0, event=name, server='s'))

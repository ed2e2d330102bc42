"""The IJobStore contract of issue 22, written once as tests: who added
each job, a caller's own jobs, and the API tokens kept as hashes.

Mixed into every store's test class beside ``StoreContractTests``.
"""

import json

from zope.interface.verify import verifyObject

from remotetask.core.entries import Entry
from remotetask.interfaces import IApiTokenStore


class OwnerContractTests:

    def addBy(self, owner, task='echo', status='queued', now=100.0):
        return self.store.add(task, '1', status, None, now, owner=owner)

    def test_a_job_records_who_added_it(self):
        """add and addMany record the owner given (None: no one)."""
        mine = self.addBy('shop')
        nobody = self.addBy(None)
        many = self.store.addMany(
            [Entry('echo', '1', 'queued', None, owner='shop'),
             Entry('echo', '1', 'queued', None, owner='reports')], 1.0)
        assert self.store.get(mine)['addedby'] == 'shop'
        assert self.store.get(nobody)['addedby'] is None
        assert [self.store.get(jobid)['addedby'] for jobid in many] == [
            'shop', 'reports']

    def test_find_with_an_owner_gives_its_jobs_alone(self):
        """find(owner=...) lists that owner's jobs only, with the other
        filters; jobs of no one are never anyone's."""
        self.addBy(None)
        first = self.addBy('shop')
        self.addBy('reports')
        second = self.addBy('shop', task='other')
        found = self.store.find(owner='shop')
        assert [row['id'] for row in found] == [first, second]
        assert [row['id'] for row in self.store.find(
            owner='shop', task='other')] == [second]
        assert [row['id'] for row in self.store.find(
            owner='shop', after=first)] == [second]
        assert self.store.find(owner='nobody') == []

    def test_newest_with_an_owner_gives_its_jobs_alone(self):
        """newest(owner=...) pages that owner's jobs, newest first, with
        every other filter."""
        jobs = [self.addBy(owner) for owner in
                ('shop', 'reports', 'shop', None, 'shop')]
        rows, cursor = self.store.newest(owner='shop', limit=2)
        assert [row['id'] for row in rows] == [jobs[4], jobs[2]]
        rows, cursor = self.store.newest(owner='shop', before=cursor,
                                         limit=2)
        assert [row['id'] for row in rows] == [jobs[0]]
        rows, _ = self.store.newest(owner='shop', status='error')
        assert rows == []

    def test_api_tokens_are_kept_by_digest(self):
        """A token is added once by name, found by its digest, listed
        without it, touched, and revoked."""
        tokens = self.store.apiTokens
        assert verifyObject(IApiTokenStore, tokens)
        assert tokens.add('shop', 'ab' * 32, 'caller', ['convert'], 5.0,
                          expires=99.0)
        assert not tokens.add('shop', 'cd' * 32, 'viewer', [], 6.0)
        assert tokens.find('cd' * 32) is None
        found = tokens.find('ab' * 32)
        assert found == dict(name='shop', role='caller', tasks=['convert'],
                             expires=99.0, lastused=None)
        tokens.touch('ab' * 32, 7.0)
        assert tokens.list() == [dict(
            name='shop', role='caller', tasks=['convert'], created=5.0,
            expires=99.0, lastused=7.0)]
        assert tokens.revoke('shop')
        assert not tokens.revoke('shop')
        assert tokens.find('ab' * 32) is None and tokens.list() == []

    def test_run_now_records_who_asked(self):
        """runNow appends its event (who asked) to a cron job's events."""
        cron = self.store.add('echo', '1', 'cronjob', '{"minute":[1]}', 1.0)
        assert self.store.runNow(cron, 5.0, '{"event":"run now","by":"x"}')
        assert json.loads(self.store.get(cron)['events'])[-1] == {
            'event': 'run now', 'by': 'x'}

"""The daemon when its SQLite store's disk is full or read-only.

The store lives on a small tmpfs the test mounts itself: we run as root,
and chmod does not stop root, so a full or read-only filesystem is the
only honest way to refuse the daemon its writes. Where mounting is not
permitted the tests are skipped, saying so.

Linux refuses to remount a filesystem read-only while a process has a
file on it open for writing (EBUSY), and SQLite keeps its database open
for writing; so a store cannot turn read-only under a running server
short of a filesystem error. The read-only case tested is the one that
happens: the filesystem is read-only when the server starts (after a
crash, with the write-ahead log still there), and is made writable later.
"""

import os
import sqlite3
import subprocess
import xmlrpc.client

import pytest

from tests.acceptance.daemon import (
    STORE_UNAVAILABLE, Daemons, fault, metric, waitUntil)


class Tmpfs:
    """A tmpfs of ``size`` mounted at ``path``, and daemons on it."""

    def __init__(self, path, size='8M'):
        self.path = str(path)
        self.size = size
        self.filler = os.path.join(self.path, 'filler')
        self.daemons = Daemons(os.path.dirname(self.path),
                               store=f'sqlite:{self.database}',
                               args=['--workers=2'])

    @property
    def database(self):
        return os.path.join(self.path, 'jobs.sqlite')

    def mount(self):
        os.makedirs(self.path, exist_ok=True)
        result = subprocess.run(
            ['mount', '-t', 'tmpfs', '-o', f'size={self.size}', 'tmpfs',
             self.path], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f'cannot mount a tmpfs for the store (needs root '
                        f'or CAP_SYS_ADMIN): {result.stderr.strip()}')

    def remount(self, mode):
        subprocess.run(['mount', '-o', f'remount,{mode}', self.path],
                       check=True, capture_output=True)

    def unmount(self):
        self.daemons.killAll()
        if subprocess.run(['umount', self.path]).returncode != 0:
            # Busy: detach it now, let the kernel finish when it can.
            subprocess.run(['umount', '-l', self.path], check=True)

    def fill(self):
        """Take every free block of the filesystem."""
        with open(self.filler, 'ab', buffering=0) as file:
            for size in (1 << 16, 1 << 12, 1):
                try:
                    while True:
                        file.write(b'\0' * size)
                except OSError as error:
                    assert error.errno == 28, error  # ENOSPC

    def free(self):
        os.remove(self.filler)


@pytest.fixture
def tmpfs(tmp_path):
    """A tmpfs for the store; the daemons on it are killed and it is
    unmounted after the test, whatever happened."""
    filesystem = Tmpfs(tmp_path / 'store')
    filesystem.mount()
    try:
        yield filesystem
    finally:
        filesystem.unmount()


def addUntilRefused(server, attempts=50):
    """Add until the store refuses; return the ids it still took and
    the fault's message. (Whether the first add after the disk fills
    fails depends on free room left in SQLite's write-ahead log.)"""
    taken = []
    for i in range(attempts):
        try:
            taken.append(server.add('echo', f'late {i}' * 200))
        except xmlrpc.client.Fault as fault:
            assert fault.faultCode == STORE_UNAVAILABLE, fault
            return taken, fault.faultString
    raise AssertionError(f'{attempts} adds succeeded on a full disk')


def integrityCheck(path):
    """SQLite's own verdict on the file (read-only: it changes nothing)."""
    connection = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    try:
        return connection.execute('PRAGMA integrity_check').fetchall()
    finally:
        connection.close()


def test_disk_full_refuses_adds_serves_reads_and_recovers(tmpfs):
    """With the store's disk full, add answers fault 6 saying the disk is
    full; reads go on answering; nothing acknowledged is lost or
    corrupted; once space returns, adds work and their jobs run."""
    daemon = tmpfs.daemons.start()
    server = daemon.proxy()
    before = [server.add('echo', {'n': n}) for n in range(20)]
    assert {server.wait(jobid, 30) for jobid in before} == {'completed'}

    tmpfs.fill()
    taken, message = addUntilRefused(server)
    assert 'disk is full' in message and tmpfs.database in message
    # Reads do not need the disk.
    assert server.getResult(before[0]) == {'n': 0}
    assert server.getStatus(before[-1]) == 'completed'
    assert len(server.getJobs({'task': 'echo'})['jobs']) >= len(before)
    assert 'echo' in server.getAvailableTasks()

    tmpfs.free()
    after = server.add('echo', 'space again')
    assert server.wait(after, 30) == 'completed'
    assert server.getResult(after) == 'space again'
    for jobid in taken:
        assert server.wait(jobid, 30) == 'completed'
    assert [server.getResult(jobid) for jobid in before] == \
        [{'n': n} for n in range(20)]
    assert daemon.process.poll() is None
    assert integrityCheck(tmpfs.database) == [('ok',)]


def test_a_job_finishing_while_the_disk_is_full_is_recorded_later(tmpfs):
    """A job whose run ends while the disk is full is not left
    'processing': its outcome is recorded once space returns."""
    daemon = tmpfs.daemons.start()
    server = daemon.proxy()
    jobid = server.add('sleep', 2)
    waitUntil(lambda: server.getStatus(jobid) == 'processing',
              message='the job running')
    tmpfs.fill()
    # The worker is free once the run has ended, on the full disk.
    waitUntil(lambda: metric(daemon, 'remotetask_workers_busy') == 0,
              message='the run ended')
    assert server.getStatus(jobid) == 'processing'
    tmpfs.free()
    waitUntil(lambda: server.getStatus(jobid) == 'completed', timeout=10,
              message=f'job {jobid} recorded after space returned (see '
                      f'{daemon.logfile})')
    assert server.getResult(jobid) == 2
    assert integrityCheck(tmpfs.database) == [('ok',)]


def crashOnReadOnlyStore(tmpfs):
    """A daemon killed with SIGKILL (its write-ahead log left behind),
    then restarted with the store's filesystem read-only; its jobs."""
    daemon = tmpfs.daemons.start()
    server = daemon.proxy()
    done = server.add('echo', 'before')
    assert server.wait(done, 30) == 'completed'
    waiting = server.add('echo', 'later', True)
    daemon.kill()
    tmpfs.remount('ro')
    return daemon.start(), done, waiting


def test_read_only_store_refuses_writes_and_serves_reads(tmpfs):
    """A server whose store is on a read-only filesystem answers reads,
    and every write (add, startJob, cancel, clean) with fault 6 saying
    the store is read-only; the file is left intact."""
    daemon, done, waiting = crashOnReadOnlyStore(tmpfs)
    server = daemon.proxy()
    assert server.getResult(done) == 'before'
    assert server.getStatus(waiting) == 'start later'
    assert [job['id'] for job in server.getJobs({})['jobs']] == \
        [done, waiting]
    refused = fault(server.add, 'echo', 1, code=STORE_UNAVAILABLE)
    assert 'readonly' in refused.faultString.replace('-', '')
    fault(server.startJob, waiting, code=STORE_UNAVAILABLE)
    fault(server.cancel, waiting, code=STORE_UNAVAILABLE)
    fault(server.clean, code=STORE_UNAVAILABLE)
    assert daemon.process.poll() is None
    assert integrityCheck(tmpfs.database) == [('ok',)]


def test_a_read_only_store_made_writable_takes_adds_again(tmpfs):
    """Once the filesystem of a read-only store is writable again, the
    running server takes adds and runs jobs, without a restart."""
    daemon, done, waiting = crashOnReadOnlyStore(tmpfs)
    server = daemon.proxy()
    fault(server.add, 'echo', 1, code=STORE_UNAVAILABLE)
    tmpfs.remount('rw')
    jobid = server.add('echo', 'writable')
    assert server.wait(jobid, 30) == 'completed'
    assert server.startJob(waiting) is True
    assert server.wait(waiting, 30) == 'completed'

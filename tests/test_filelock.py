"""One server at a time on a SQLite store: the lock on ``FILE.lock``."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from remotetask.errors import StoreLocked, StoreUnavailable
from remotetask.store import SQLiteJobStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOLDER = textwrap.dedent('''
    import sys
    from remotetask.store import SQLiteJobStore
    store = SQLiteJobStore(sys.argv[1])
    print('open', flush=True)
    sys.stdin.read()
''')


def tryOpen(path):
    """Open the store ``path`` in another process: its stderr, or ''."""
    done = subprocess.run(
        [sys.executable, '-c',
         'import sys\nfrom remotetask.store import SQLiteJobStore\n'
         'SQLiteJobStore(sys.argv[1]).close()', str(path)],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=ROOT))
    return done.stderr if done.returncode else ''


@pytest.fixture
def holder(tmp_path):
    """Another process holding the store ``jobs.sqlite`` open."""
    process = subprocess.Popen(
        [sys.executable, '-c', HOLDER, str(tmp_path / 'jobs.sqlite')],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert process.stdout.readline() == 'open\n'
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(30)


def test_a_second_process_is_refused_naming_the_holder(holder, tmp_path):
    """While one process has the store open, another is refused with
    StoreLocked (a StoreUnavailable, fault 6) naming the first's pid."""
    path = tmp_path / 'jobs.sqlite'
    with pytest.raises(StoreLocked) as info:
        SQLiteJobStore(path)
    assert isinstance(info.value, StoreUnavailable)
    assert info.value.faultCode == 6
    assert f'pid {holder.pid}' in str(info.value)
    assert str(path) in str(info.value)


def test_the_lock_goes_with_its_holder_even_on_kill_9(holder, tmp_path):
    """A holder killed with SIGKILL leaves a lock file but no lock: the
    next process opens the store and writes its own pid there."""
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        with open(tmp_path / 'jobs.sqlite.lock') as file:
            assert file.read() == f'{os.getpid()}\n'
    finally:
        store.close()


def test_one_process_may_open_a_store_twice_and_holds_it_until_both_close(
        tmp_path):
    """Two stores on one file in one process share the lock: closing one
    keeps other processes out; closing both lets them in."""
    path = tmp_path / 'jobs.sqlite'
    first = SQLiteJobStore(path)
    second = SQLiteJobStore(path)
    first.close()
    assert 'in use by another server' in tryOpen(path)
    first.close()  # twice: no effect
    assert 'in use by another server' in tryOpen(path)
    second.close()
    assert tryOpen(path) == ''

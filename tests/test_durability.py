"""Nothing acknowledged is lost: kill -9 a process that is adding jobs."""

import os
import signal
import subprocess
import sys
import textwrap

from remotetask.store import SQLiteJobStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRODUCER = textwrap.dedent('''
    import sys
    from remotetask import TaskService, SimpleTask
    from remotetask.store import SQLiteJobStore
    service = TaskService(store=SQLiteJobStore(sys.argv[1]))
    service.registry.register('echo', SimpleTask(lambda x: x))
    for i in range(1000000):
        jobid = service.add('echo', {'i': i})
        print(jobid, flush=True)
''')


def test_kill_9_loses_no_acknowledged_job(tmp_path):
    """Every id a producer printed after add() returned is in the store
    reopened after the producer was killed with SIGKILL mid-way."""
    path = tmp_path / 'jobs.sqlite'
    producer = subprocess.Popen(
        [sys.executable, '-c', PRODUCER, str(path)], stdout=subprocess.PIPE,
        text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    printed = []
    try:
        for line in producer.stdout:
            printed.append(int(line))
            if len(printed) == 500:
                break
    finally:
        producer.send_signal(signal.SIGKILL)
        rest = producer.stdout.read()
        producer.wait(30)
    printed += [int(line) for line in rest.split() if line.isdigit()]
    assert producer.returncode == -signal.SIGKILL
    assert len(printed) >= 500
    store = SQLiteJobStore(path)
    try:
        for jobid in printed:
            assert store.get(jobid)['status'] == 'queued'
        assert store.count() >= len(printed)
    finally:
        store.close()

"""The worker process's side, run in this process on in-memory files:
the messages a job's run produces, its progress included."""

import io
import threading

from remotetask import SimpleTask, reportProgress
from remotetask.core.registry import TaskRegistry
from remotetask.server.workerprocess import (
    Inbox, ProgressOutbox, Replies, runJobs)
from remotetask.server.workerprotocol import readMessage


def reporting(steps):
    def task(input):
        for step in range(1, steps + 1):
            reportProgress(step / steps, f'step {step}')
        return input
    return task


class OneJob(Inbox):
    """An inbox holding one job, then empty and closed."""

    def __init__(self, task, input):
        super().__init__()
        self.put(7, task, input)

    def take(self):
        job = super().take()
        self.close()
        return job


def run(task, interval):
    """Run one job of ``task`` as a worker does; the messages sent."""
    registry = TaskRegistry()
    registry.register('t', SimpleTask(task))
    stream = io.BytesIO()
    replies = Replies(stream)
    outbox = ProgressOutbox(replies, interval)
    threading.Thread(target=outbox.run, daemon=True).start()
    runJobs(registry, OneJob('t', '"x"'), replies, outbox)
    stream.seek(0)
    messages = []
    while (message := readMessage(stream)) is not None:
        messages.append(message[0])
    return messages


def test_a_fast_job_sends_its_last_report_with_its_end_only():
    """A job shorter than the interval sends no progress message: its last
    report rides on its end message, the others are dropped."""
    messages = run(reporting(100), interval=3600)
    assert [sorted(m) for m in messages] == [
        ['started'], ['ended', 'ok', 'progress']]
    assert messages[1]['progress']['message'] == 'step 100'
    assert messages[1]['progress']['fraction'] == 1.0


def test_reports_go_as_they_come_when_the_interval_allows():
    """With no interval to wait for, each report goes in a progress
    message of its own, in order, all before the end."""
    messages = run(reporting(3), interval=0)
    assert [m.get('message') for m in messages[1:-1]] == [
        'step 1', 'step 2', 'step 3']
    assert [m['progress'] for m in messages[1:-1]] == [7, 7, 7]
    assert 'ended' in messages[-1] and 'progress' not in messages[-1]


def test_a_waiting_report_is_sent_by_the_outbox_when_due():
    """A report that waits for its interval is sent by the outbox's own
    thread once the interval is up, while the job still runs."""
    release = threading.Event()
    seen = []

    def task(input):
        reportProgress(0.5, 'half')
        release.wait(30)
        return input
    stream = io.BytesIO()

    class Watching(Replies):
        def send(self, header, body=None):
            seen.append(header)
            super().send(header, body)
            if 'progress' in header:
                release.set()
    replies = Watching(stream)
    outbox = ProgressOutbox(replies, 0.05)
    threading.Thread(target=outbox.run, daemon=True).start()
    registry = TaskRegistry()
    registry.register('t', SimpleTask(task))
    worker = threading.Thread(
        target=runJobs, args=(registry, OneJob('t', 'null'), replies,
                              outbox), daemon=True)
    worker.start()
    assert release.wait(30)
    worker.join(30)
    assert [h.get('message') for h in seen if 'fraction' in h] == ['half']
    assert 'progress' not in seen[-1]

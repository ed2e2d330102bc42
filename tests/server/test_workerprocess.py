"""The worker process's side, run in this process on in-memory files:
the messages a job's run produces, its progress included."""

import io
import threading

from remotetask import SimpleTask, reportProgress
from remotetask.core.registry import TaskRegistry
from remotetask.server.workers.workerprocess import (
    ProgressOutbox, Replies, runJobs)
from remotetask.server.workers.workerprotocol import readMessages


def reporting(steps):
    def task(input):
        for step in range(1, steps + 1):
            reportProgress(step / steps, f'step {step}')
        return input
    return task


class Jobs:
    """Stands for ``workerinput.Requests``: jobs 1 to ``count`` of task
    ``task``, then the server's hang-up."""

    def __init__(self, count, task='t', input='null'):
        self.waiting = [(jobid, task, input)
                        for jobid in range(1, count + 1)]

    def take(self):
        return self.waiting.pop(0) if self.waiting else None

    def begin(self):
        pass

    def end(self):
        pass


def OneJob(task, input):
    """Job 7 of ``task``, then the hang-up."""
    jobs = Jobs(0)
    jobs.waiting.append((7, task, input))
    return jobs


def sent(stream):
    """The headers written to ``stream``, a list per message."""
    stream.seek(0)
    frames = []
    while (messages := readMessages(stream)) is not None:
        frames.append([header for header, _ in messages])
    return frames


def run(task, interval):
    """Run one job of ``task`` as a worker does; the messages sent."""
    registry = TaskRegistry()
    registry.register('t', SimpleTask(task))
    stream = io.BytesIO()
    replies = Replies(stream)
    outbox = ProgressOutbox(replies, interval)
    threading.Thread(target=outbox.run, daemon=True).start()
    runJobs(registry, OneJob('t', '"x"'), replies, outbox)
    return [header for found in sent(stream) for header in found]


def test_a_fast_job_sends_its_last_report_with_its_end_only():
    """A job shorter than the interval sends no progress message: its last
    report rides on its end message, the others are dropped."""
    messages = run(reporting(100), interval=3600)
    assert [sorted(m) for m in messages] == [
        ['started'], ['ended', 'ok', 'progress', 'took']]
    assert messages[1]['progress']['message'] == 'step 100'
    assert messages[1]['progress']['fraction'] == 1.0


class Watching(Replies):
    """Replies that set ``sent`` whenever a progress message went."""

    def __init__(self, stream):
        super().__init__(stream)
        self.headers = []
        self.sent = threading.Event()

    def _write(self):
        headers = [header for header, _ in self._waiting]
        super()._write()
        self.headers += headers
        if any('fraction' in header for header in headers):
            self.sent.set()


def runWatched(task, interval):
    """Run one job of ``task(replies)`` in a worker thread; the replies."""
    replies = Watching(io.BytesIO())
    outbox = ProgressOutbox(replies, interval)
    threading.Thread(target=outbox.run, daemon=True).start()
    registry = TaskRegistry()
    registry.register('t', SimpleTask(lambda input: task(replies)))
    worker = threading.Thread(
        target=runJobs, args=(registry, OneJob('t', 'null'), replies,
                              outbox), daemon=True)
    worker.start()
    worker.join(30)
    return replies


def test_each_report_goes_in_order_before_the_end():
    """Reports that are due go, each in a message of its own, in order,
    all before the end, which then carries none."""
    sent = []  # what the task saw; an assert in it would fail the job

    def task(replies):
        for step in (1, 2):
            replies.sent.clear()
            reportProgress(step / 2, f'step {step}')
            sent.append(replies.sent.wait(30))
        return None
    headers = runWatched(task, 0.01).headers
    assert sent == [True, True], 'a report was not sent within 30 s'
    assert [h.get('message') for h in headers[1:-1]] == ['step 1', 'step 2']
    assert [h['progress'] for h in headers[1:-1]] == [7, 7]
    assert 'ended' in headers[-1] and 'progress' not in headers[-1]


def test_a_waiting_report_is_sent_by_the_outbox_when_due():
    """A report that waits for its interval is sent by the outbox's own
    thread once the interval is up, while the job still runs."""
    sent = []

    def task(replies):
        reportProgress(0.5, 'half')
        sent.append(replies.sent.wait(30))
        return None
    headers = runWatched(task, 0.05).headers
    assert sent == [True], 'the report was not sent within 30 s'
    assert [h.get('message') for h in headers if 'fraction' in h] == [
        'half']
    assert 'progress' not in headers[-1]


def test_a_busy_worker_sends_an_end_with_the_next_start():
    """Jobs waiting in the inbox run back to back, and each message says,
    in one header, how one ended and that the next began (a start is
    never held back: a job that kills its worker must be known to have
    started); the last end goes when nothing is next (here, at the
    server's hang-up)."""
    registry = TaskRegistry()
    registry.register('t', SimpleTask(lambda input: input))
    stream = io.BytesIO()
    replies = Replies(stream)
    runJobs(registry, Jobs(3), replies, ProgressOutbox(replies, 3600))
    assert [[(header.get('ended'), header.get('started')) for header in found]
            for found in sent(stream)] == [
        [(None, 1)], [(1, 2)], [(2, 3)], [(3, None)]]


def test_a_start_after_a_progress_message_has_a_header_of_its_own():
    """The next start joins only an end that waits: after a progress
    message (sent at once) it goes in a message of its own, so that a
    progress report never reads as an end."""
    stream = io.BytesIO()
    replies = Replies(stream)
    replies.add({'ended': 1, 'ok': True}, '1')
    replies.send({'progress': 2, 'fraction': 0.5, 'at': 1.0})
    replies.started(3)
    assert sent(stream) == [
        [{'ended': 1, 'ok': True}, {'progress': 2, 'fraction': 0.5,
                                    'at': 1.0}],
        [{'started': 3}]]


class Trickle(io.BytesIO):
    """An unbuffered pipe that a signal keeps cutting: each write takes at
    most 3 bytes and says so."""

    def write(self, data):
        return super().write(bytes(data[:3]))


def test_a_write_cut_short_is_finished_in_order():
    """Replies write to an unbuffered stdout: a write that takes only part
    of a message is followed by the rest, so frames arrive whole and in
    order."""
    stream = Trickle()
    replies = Replies(stream)
    replies.started(1)
    replies.add({'ended': 1, 'ok': True}, '"\u00e9t\u00e9"')
    replies.flush()
    assert sent(stream) == [[{'started': 1}],
                            [{'ended': 1, 'ok': True}]]
    stream.seek(0)
    assert 'été'.encode('utf-8') in stream.read()


def test_a_report_made_after_its_job_ended_goes_nowhere():
    """A job's reporter kept past its end (a thread of the task's that
    carried it) keeps nothing: neither that job nor the next one hears of
    it, and a job that made no report ends without one."""
    outbox = ProgressOutbox(Replies(io.BytesIO()), 60.0)
    first = outbox.begin(1)
    first(0.5, 'half')
    assert outbox.end()['message'] == 'half'
    first(0.6, 'after the end')
    second = outbox.begin(2)
    first(0.7, 'during the next job')
    assert outbox.end() is None
    second(0.8, 'late')
    outbox.begin(3)
    assert outbox.end() is None


def test_many_reports_of_one_job_keep_the_latest():
    """Reports made through ``reportProgress`` after the first (which
    makes the job's Throttle) still each replace the one before: the
    last goes with the end, and the job after starts with none."""
    headers = run(reporting(50), 60.0)
    ends = [header for header in headers if 'ended' in header]
    assert [end['progress']['message'] for end in ends] == ['step 50']
    assert not [header for header in headers if 'fraction' in header]

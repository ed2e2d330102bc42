"""reportProgress: checked and cut where the task runs, sent nowhere
outside a job, and let go at a bounded rate by a Throttle."""

import math

import pytest

from remotetask import reportProgress
from remotetask.core import progress
from remotetask.core.runner import runTask


def reports():
    got = []
    return got, lambda fraction, message: got.append((fraction, message))


def test_reports_reach_the_reporter_of_the_run_and_nowhere_else():
    """Inside runTask a report reaches the run's reporter; before and
    after it, reportProgress does nothing."""
    got, reporter = reports()
    reportProgress(0.1)
    outcome = runTask(lambda service, jobid, input: reportProgress(
        0.5, 'half'), None, 1, None, progress=reporter)
    reportProgress(0.9)
    assert outcome.ok and got == [(0.5, 'half')]


def test_the_fraction_is_held_within_0_and_1_and_must_be_a_number():
    """Fractions outside 0..1 are held at the ends; a non-number or NaN
    is the task's bug and raises ValueError."""
    got, reporter = reports()
    with progress.reporting(reporter):
        reportProgress(-3)
        reportProgress(7.5)
        reportProgress(1)
        for wrong in ('half', None, True, math.nan):
            with pytest.raises(ValueError):
                reportProgress(wrong)
    assert got == [(0.0, None), (1.0, None), (1.0, None)]


def test_a_message_is_cut_at_MAX_MESSAGE():
    """A message of MAX_MESSAGE characters is kept whole; a longer one is
    cut to MAX_MESSAGE, ending in an ellipsis; control characters are
    escaped as stores need."""
    got, reporter = reports()
    fits = 'x' * progress.MAX_MESSAGE
    with progress.reporting(reporter):
        reportProgress(0.5, fits)
        reportProgress(0.5, fits + 'y')
        reportProgress(0.5, 'a\x00b')
    assert got[0][1] == fits
    assert len(got[1][1]) == progress.MAX_MESSAGE
    assert got[1][1].endswith('…')
    assert got[2][1] == 'a\\x00b'


def test_a_latest_keeps_the_last_report_checked_and_stamped():
    """A ``Latest`` reporter (a worker process's) keeps only the last
    report of its run, checked and cut as any other, with the epoch time
    it was made; called as a reporter, it keeps that report the same."""
    box = progress.Latest()

    def task(service, jobid, input):
        reportProgress(0.2)
        reportProgress(7, 'x' * (progress.MAX_MESSAGE + 5))
    assert runTask(task, None, 1, None, progress=box).ok
    fraction, message, at = box.latest
    assert fraction == 1.0 and len(message) == progress.MAX_MESSAGE
    assert isinstance(at, float) and at > 1e9
    with progress.reporting(box):
        with pytest.raises(ValueError):
            reportProgress(math.nan)
    assert box.latest[:2] == (1.0, message)
    box(0.25, None)
    assert box.latest[:2] == (0.25, None)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_throttle_lets_a_report_go_once_per_interval_latest_winning():
    """Reports within the interval of the last one sent (or of the run's
    start) wait, each replacing the one before; the one waiting goes when
    due, or is taken at the end."""
    sent, clock = [], Clock()
    throttle = progress.Throttle(sent.append, 1.0, clock)
    throttle(0.1, 'a')
    assert sent == [] and throttle.due() == 1.0
    clock.now = 0.5
    throttle(0.2, 'b')
    with throttle.lock:
        throttle.sendDue()
    assert sent == []
    clock.now = 1.0
    with throttle.lock:
        assert throttle.due() == 0.0
        throttle.sendDue()
    assert [report['message'] for report in sent] == ['b']
    clock.now = 2.5
    throttle(0.3, 'c')
    clock.now = 2.6
    throttle(0.4, 'd')
    assert [report['message'] for report in sent] == ['b', 'c']
    assert throttle.take()['message'] == 'd'
    assert throttle.take() is None and throttle.due() is None


def test_a_throttle_that_is_not_eager_never_sends_from_the_task():
    """Not eager, a report is only kept: the sender lets it go when due;
    the latest not let go is taken at the end, once."""
    sent, clock = [], Clock()
    throttle = progress.Throttle(sent.append, 1.0, clock, eager=False)
    clock.now = 5.0
    throttle(0.1, 'a')
    throttle(0.2, 'b')
    assert sent == [] and throttle.pending
    with throttle.lock:
        throttle.sendDue()
    assert [report['message'] for report in sent] == ['b']
    assert not throttle.pending and throttle.take() is None
    throttle(0.3, 'c')
    assert throttle.take()['message'] == 'c'
    assert throttle.take() is None


def test_a_throttle_made_at_the_first_report_counts_from_the_start():
    """A Throttle made after its run started (``started``) lets the first
    report go once the interval from that start is up, not from when it
    was made."""
    sent, clock = [], Clock()
    clock.now = 5.0
    throttle = progress.Throttle(sent.append, 1.0, clock, eager=False,
                                 started=4.5)
    throttle(0.1, 'a')
    with throttle.lock:
        assert throttle.due() == 0.5
    clock.now = 5.5
    with throttle.lock:
        throttle.sendDue()
    assert [report['message'] for report in sent] == ['a']

"""The thread pool's progress reports: the latest of a burst, one relayed
call for it."""

from remotetask.server.workers.threadworkers import ProgressRelay


def test_a_burst_of_reports_is_one_relayed_call_with_the_latest():
    """Reports made before the relayed call runs are one call, which
    delivers the latest; a report after it is relayed again."""
    relayed, delivered = [], []
    reporter = ProgressRelay(relayed.append, delivered.append)
    for step in range(1, 4):
        reporter(step / 3, f'step {step}')
    assert len(relayed) == 1
    relayed.pop()()
    assert [report['message'] for report in delivered] == ['step 3']
    reporter(1.0, None)
    assert len(relayed) == 1
    relayed.pop()()
    assert delivered[-1]['fraction'] == 1.0
    assert 'message' not in delivered[-1]

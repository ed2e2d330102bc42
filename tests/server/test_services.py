"""The daemon's ordered service tree: stopping in reverse, one after the
other, and past a child that fails to stop."""

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import globalLogPublisher

from remotetask.server.daemon.services import OrderedServices


class Recorded(Service):
    """A child that notes when it stopped, failing as told."""

    def __init__(self, name, stopped, fail=None):
        self.name = name
        self.stopped = stopped
        self.fail = fail

    def stopService(self):
        super().stopService()
        self.stopped.append(self.name)
        if self.fail == 'raise':
            raise RuntimeError(f'{self.name} cannot stop')
        if self.fail == 'deferred':
            return defer.fail(RuntimeError(f'{self.name} cannot stop'))
        return None


def stopAll(*children):
    """Start an OrderedServices of ``children``, stop it; the Deferred's
    result, the logged failures."""
    logged = []
    globalLogPublisher.addObserver(logged.append)
    try:
        parent = OrderedServices()
        for child in children:
            child.setServiceParent(parent)
        parent.startService()
        results = []
        parent.stopService().addBoth(results.append)
    finally:
        globalLogPublisher.removeObserver(logged.append)
    return results, [event for event in logged if 'log_failure' in event]


def test_children_stop_in_reverse_order():
    """The last child started is the first stopped (the store, started
    first, closes last)."""
    stopped = []
    results, failures = stopAll(Recorded('store', stopped),
                                Recorded('writer', stopped),
                                Recorded('web', stopped))
    assert stopped == ['web', 'writer', 'store']
    assert results == [None] and failures == []


def test_a_child_that_fails_to_stop_does_not_keep_the_others_running():
    """A child whose stop raises, or whose Deferred fails, is logged
    with its name; the children before it (the writer, the store) are
    stopped all the same, and the stop itself succeeds."""
    stopped = []
    results, failures = stopAll(
        Recorded('store', stopped), Recorded('writer', stopped),
        Recorded('dispatcher', stopped, fail='deferred'),
        Recorded('web', stopped, fail='raise'))
    assert stopped == ['web', 'dispatcher', 'writer', 'store']
    assert results == [None]
    assert [event['service'] for event in failures] == ['web', 'dispatcher']

"""The daemon's --limit and --rate options, and the limits they make."""

import pytest
from twisted.python import usage

from remotetask.core.limits import Limit, Rate
from remotetask.server.daemon.options import Options
from remotetask.server.daemon.startup import CannotStart
from remotetask.server.daemon.tap import commandLineLimits, makeRegistry


def parse(*args):
    options = Options()
    options.parseOptions(['--task=echo=tests.tasks:echo',
                          '--task=sleep=tests.tasks:sleep', *args])
    return options


def test_limit_and_rate_are_per_task_and_repeatable():
    """--limit TASK=N and --rate TASK=N/s|m|h may each be given for
    several tasks; together they make each task's Limit."""
    options = parse('--limit=echo=2', '--rate=echo=10/m', '--rate',
                    'sleep=3/s', '--limit', 'sleep=1', '--limit=sleep=4')
    limits = commandLineLimits(options, makeRegistry(options))
    assert limits == {'echo': Limit(2, Rate(10, 60.0)),
                      'sleep': Limit(4, Rate(3, 1.0))}


@pytest.mark.parametrize('args, words', [
    (['--limit=echo'], '--limit needs TASK=N'),
    (['--limit=echo=0'], 'from 1 to'),
    (['--limit=echo=two'], 'whole number'),
    (['--rate=echo=10'], 'N/s, N/m or N/h'),
    (['--rate=echo=10/d'], 'N/s, N/m or N/h'),
    (['--rate=echo=0/s'], 'from 1 to'),
])
def test_a_malformed_limit_or_rate_is_a_usage_error(args, words):
    """A limit or rate that is not a positive count (per s, m or h)
    stops the daemon at start, saying what the option needs."""
    with pytest.raises(usage.UsageError, match=words):
        parse(*args)


def test_a_limit_for_a_task_this_server_lacks_stops_the_start():
    """--limit or --rate of a task the server does not serve stops the
    start with one line naming the tasks it has: it would limit
    nothing."""
    options = parse('--limit=ehco=2')
    with pytest.raises(CannotStart, match='ehco.*has: echo, sleep'):
        commandLineLimits(options, makeRegistry(options))


@pytest.mark.parametrize('args, words', [
    (['--grace=-1'], '--grace .*0 or more'),
    (['--grace=nan'], '--grace .*0 or more'),
    (['--heartbeat-timeout=-5'], '--heartbeat-timeout must be a positive'),
    (['--heartbeat-timeout=0'], '--heartbeat-timeout must be a positive'),
    (['--store-threads=0'], '--store-threads must be a positive'),
])
def test_a_negative_duration_or_count_is_a_usage_error(args, words):
    """A duration below 0 (or NaN) would reach callLater only at shutdown,
    where it raises and cuts the shutdown short: it stops the start
    instead, naming the option."""
    with pytest.raises(usage.UsageError, match=words):
        parse(*args)


def test_a_grace_of_0_and_a_short_heartbeat_timeout_are_accepted():
    """The other side of the bound: no grace at all, and any positive
    heartbeat timeout, are valid settings."""
    options = parse('--grace=0', '--heartbeat-timeout=0.5')
    assert (options['grace'], options['heartbeat-timeout']) == (0.0, 0.5)

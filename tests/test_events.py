"""A job's events: their shape and their bounds."""

import json

from remotetask.core import events


def test_an_event_has_time_name_server_and_given_details_only():
    """make() keeps the details given, leaving out those that are None."""
    event = json.loads(events.make('retried', 5.0, 'host:1', why='busy',
                                   attempt=1, gaveUp=None))
    assert event == dict(at=5.0, event='retried', server='host:1',
                         why='busy', attempt=1)


def test_a_detail_is_cut_at_MAX_DETAIL():
    """A text detail of MAX_DETAIL characters is kept whole; a longer one
    is cut to MAX_DETAIL, ending in an ellipsis."""
    fits = 'e' * events.MAX_DETAIL
    assert json.loads(events.make('x', 0, 's', why=fits))['why'] == fits
    cut = json.loads(events.make('x', 0, 's', why=fits + 'f'))['why']
    assert len(cut) == events.MAX_DETAIL and cut.endswith('…')


def test_append_keeps_the_first_and_the_latest():
    """At the bound nothing is dropped; past it the oldest after the
    first goes; no event leaves the text as it was."""
    stored = None
    for number in range(3):
        stored = events.append(stored, json.dumps({'n': number}), keep=3)
    assert [e['n'] for e in events.decode(stored)] == [0, 1, 2]
    stored = events.append(stored, json.dumps({'n': 3}), keep=3)
    assert [e['n'] for e in events.decode(stored)] == [0, 2, 3]
    assert events.append(stored, None, keep=3) is stored

"""The codec stores give values through: exact, unambiguous, no pickle."""

import datetime
import json

import pytest

from remotetask.core import codec
from remotetask.errors import UnstorableValue


@pytest.mark.parametrize('value', [
    (), (1,), (0.04, 1), ('a', (b'\x00', [(), {}]), None),
    [(1, 2), [3, 4]], {'pair': (datetime.datetime(2024, 1, 2), True)},
])
def test_tuples_come_back_as_tuples(value):
    """A tuple, at any depth and holding any storable value, decodes as a
    tuple equal to it, type for type, never as a list."""
    decoded = codec.decode(codec.encode(value))
    assert decoded == value
    assert repr(decoded) == repr(value)


@pytest.mark.parametrize('value', [
    {'$tuple': [1, 2]}, {'$tuple': []}, {'$tuple': (1, 2)},
    [{'$tuple': [{'$bytes': 'eA=='}]}], {'$tuple': [1], 'other': 2},
])
def test_a_dict_that_looks_like_a_tag_stays_a_dict(value):
    """A user's dict with a '$tuple' key (or any '$' key) comes back as
    that dict, so the tag never changes what a caller stored."""
    decoded = codec.decode(codec.encode(value))
    assert decoded == value
    assert repr(decoded) == repr(value)


def test_the_stored_text_is_plain_JSON_with_a_tag():
    """A tuple is stored as JSON anyone can read: a one-key object
    ``$tuple`` holding an array (the JSON view shows it so)."""
    assert json.loads(codec.encode((1, 'a'))) == {'$tuple': [1, 'a']}


def test_tuples_count_towards_the_depth_limit():
    """Tuples nest like lists: 100 levels are kept, 101 refused."""
    value = 'leaf'
    for _ in range(100):
        value = (value,)
    assert codec.decode(codec.encode(value)) == value
    with pytest.raises(UnstorableValue, match='deeper than 100'):
        codec.encode((value,))


def test_a_set_inside_a_tuple_is_refused_saying_where():
    """What a tuple holds is checked as a list's items are."""
    with pytest.raises(UnstorableValue, match=r"input\[1\]\[0\].*set"):
        codec.encode(('ok', ({1},)), 'input')

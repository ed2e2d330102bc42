"""The codec stores give values through: exact, unambiguous, no pickle."""

import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    {'$bytes': 'eA==', 'flat': 1}, {'a': 1, '$': None, 'b': 'text'},
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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) |
    st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20)


@given(_JSON)
@settings(max_examples=100, deadline=None)
def test_compact_JSON_is_the_text_json_dumps_gives(value):
    """compactJSON, made once, writes what json.dumps writes with compact
    separators (ASCII or not), so that stored inputs and events read the
    same as they did when json.dumps wrote them."""
    for ascii in (True, False):
        assert codec.compactJSON(ascii)(value) == json.dumps(
            value, separators=(',', ':'), ensure_ascii=ascii)


def test_a_flat_dict_is_stored_as_it_is_unless_a_key_is_a_tag():
    """A dict of scalars is stored as its plain JSON, and comes back equal;
    one with a '$' key is wrapped, and comes back as that dict too."""
    plain = {'i': 1, 'x': 1.5, 's': 'é', 'n': None, 'b': True}
    assert json.loads(codec.encode(plain)) == plain
    for tagged in ({'$bytes': 'eA=='}, {'a': 1, '$datetime': 'x'}):
        assert json.loads(codec.encode(tagged)) == {'$dict': tagged}
        assert codec.decode(codec.encode(tagged)) == tagged


def test_a_flat_dict_counts_towards_the_depth_limit():
    """A dict of scalars is one level, as any dict: 100 levels are kept,
    101 refused."""
    value = {'leaf': 1}
    for _ in range(99):
        value = [value]
    assert codec.decode(codec.encode(value)) == value
    with pytest.raises(UnstorableValue, match='deeper than 100'):
        codec.encode([value])


@pytest.mark.parametrize('value', [
    {}, {'a': 1, 'b': 'x', 'c': None, 'd': 1.5, 'e': True},
    {'a': 1, 'b': b'x'}, {'a': 1, 'b': (1, 2)}, {'a': [1, {'b': (2,)}]},
])
def test_dicts_flat_or_not_come_back_as_they_were(value):
    """A dict of scalars (decoded as JSON gave it) and a dict holding
    anything wrapped (unwrapped) both come back equal, type for type."""
    decoded = codec.decode(codec.encode(value))
    assert decoded == value
    assert repr(decoded) == repr(value)


def test_stored_text_is_read_as_json_loads_reads_it():
    """Text with whitespace around its value, bytes, or text that is not
    one JSON value decodes, or fails, exactly as json.loads does."""
    for text in ['{"a":1}', ' [1, 2]\n', '\t"x" ', b'{"a":[1]}', '7']:
        assert codec.decode(text) == json.loads(text)
    for text in ['', '{"a":1} x', '{', '1 2', b'']:
        with pytest.raises(json.JSONDecodeError) as raised:
            codec.decode(text)
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(text)
        assert str(raised.value) == str(expected.value)

"""Which results XML-RPC can carry (``remotetask.wire.marshal``): the
walk that tells plain values at once never accepts one that writing the
answer would refuse, and ``checkWireValue`` refuses what it refused."""

import datetime
import xmlrpc.client

import pytest

from remotetask.errors import AnswerTooLarge, InvalidArgument
from remotetask.wire.carried import (
    PLAIN_DEPTH, checkWireValue, plainlyCarried)
from remotetask.wire.marshal import (
    WireMarshaller, encodeAnswer, encodeValue, wireAnswer)


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def cyclic():
    value = [1]
    value.append(value)
    return value


def shared():
    inner = [1, 2]
    return [inner, inner]


PLAIN = [None, True, False, 0, -2 ** 31, 2 ** 31 - 1, 1.5, -0.0, '',
         'tab\tand\nlines\r and <&>', 'é€😀', [], {}, (1, 'a'),
         {'a': [1, {'b': None}], 'c': (2.5,)}, nested(PLAIN_DEPTH - 1),
         {'s': 'text <&>', 'i': -2 ** 31, 'f': -1.5, 'b': False, 'n': None,
          'é€': '😀'}]

NOT_PLAIN = [2 ** 31, -2 ** 31 - 1, float('nan'), float('inf'), 'bell\x07',
             '\ud800', {'bad\x00key': 1}, {1: 'int key'}, [b'bytes'],
             xmlrpc.client.Binary(b'x'), datetime.datetime(2026, 1, 1),
             object(), nested(PLAIN_DEPTH + 1), nested(5000), cyclic(),
             shared(), [True.__class__], {'k': set()},
             # Flat dicts (told without the walk), one flaw each.
             {'a': 1, 'b': 'bell\x07'}, {'a': 1, 'b': 2 ** 31},
             {'a': 1, 'b': float('-inf')}, {'a': 1, 'b': b'bytes'},
             {'a': 1, 2: 'int key'}, {'a': 1, 'b': [1, 'bell\x07']}]


def carried(value):
    """Whether writing the answer succeeds (the check before the walk)."""
    try:
        wireAnswer(value)
    except (TypeError, OverflowError, ValueError, RecursionError):
        return False
    return True


@pytest.mark.parametrize('value', PLAIN)
def test_plain_values_are_told_at_once_and_are_carried(value):
    """Each plain value is told carried by the walk, and writing the
    answer agrees."""
    assert plainlyCarried(value)
    assert carried(value)
    checkWireValue(value)


@pytest.mark.parametrize('value', NOT_PLAIN)
def test_other_values_are_written_out_to_find_out(value):
    """A value the walk cannot vouch for is written as the answer would
    be: refused (fault 3) exactly when that fails."""
    assert not plainlyCarried(value)
    if carried(value):
        checkWireValue(value)
    else:
        with pytest.raises(InvalidArgument):
            checkWireValue(value)


SIMPLE = [0, 7, -1, 2 ** 31 - 1, -2 ** 31, True, '', 'completed',
          'start later', 'a & b', '<tag>', 'x > y', 'é', 'tab\t', 'cr\r',
          '~!"#$%\'()*+,-./:;=?@[\\]^_`{|}', 'x' * 100000, 1.5, None]


@pytest.mark.parametrize('value', SIMPLE + [[item] for item in SIMPLE])
def test_a_simple_answer_is_the_stdlibs_to_the_byte(value):
    """An int or text answer, alone or in an array (an add's, a status,
    alone and in a multicall: plain ones are written without the
    marshaller), is what the stdlib writes, byte for byte (a carriage
    return as ``&#13;``), and reads back."""
    expected = xmlrpc.client.dumps((value,), methodresponse=True,
                                   allow_none=True)
    expected = expected.replace('\r', '&#13;').encode()
    assert wireAnswer(value) == expected
    assert xmlrpc.client.loads(wireAnswer(value))[0] == (value,)
    written = []
    WireMarshaller('utf-8', allow_none=True).dumpValue(value, written.append)
    assert bytes(encodeValue(value)) == \
        ''.join(written).replace('\r', '&#13;').encode()


def test_a_simple_answer_keeps_its_bounds():
    """An int over 32 bits is refused as before, and an int or text
    answer longer than the limit is refused as any other answer is."""
    with pytest.raises(OverflowError):
        wireAnswer(2 ** 31)
    size = len(wireAnswer(5))
    assert encodeAnswer(5, limit=size).size == size
    with pytest.raises(AnswerTooLarge):
        encodeAnswer(5, limit=size - 1)
    with pytest.raises(AnswerTooLarge):
        encodeAnswer('x', limit=size - 1)
    for value in (5, [5], 'queued', ['queued'], 'x' * 1000):
        size = encodeValue(value).size
        assert encodeValue(value, limit=size).size == size
        with pytest.raises(AnswerTooLarge):
            encodeValue(value, limit=size - 1)
    with pytest.raises(OverflowError):
        encodeValue([2 ** 31])

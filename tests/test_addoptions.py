"""add's third argument over XML-RPC and the JSON view: the legacy
startLater boolean or a struct of options."""

import pytest

from remotetask import InvalidArgument
from remotetask.wire.addoptions import parseAddOptions


def test_the_legacy_boolean_and_none_are_startLater_and_nothing():
    """True/False are startLater, as lovely.remotetask's clients send;
    None (absent) is no option."""
    assert parseAddOptions(True) == {'startLater': True}
    assert parseAddOptions(False) == {'startLater': False}
    assert parseAddOptions(None) == {}


def test_a_struct_gives_its_known_members():
    """notify passes as the keyword argument of the same name."""
    assert parseAddOptions({'notify': 'http://h/'}) == {
        'notify': 'http://h/'}
    assert parseAddOptions({}) == {}


@pytest.mark.parametrize('value, words', [
    (1, r'boolean \(startLater\) or a struct'),
    ('yes', r'boolean \(startLater\) or a struct'),
    ({'priority': 5}, 'unknown members: priority'),
    ({'notify': ['http://h/']}, 'notify must be a str'),
])
def test_anything_else_is_refused_saying_why(value, words):
    """Another type, an unknown member or a member of the wrong type is
    fault 3, naming it."""
    with pytest.raises(InvalidArgument, match=words):
        parseAddOptions(value)

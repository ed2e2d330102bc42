"""add's third argument over XML-RPC and the JSON view: the legacy
startLater boolean or a struct of options."""

import pytest

from remotetask import InvalidArgument
from remotetask.wire.addoptions import MEMBERS, parseAddOptions


def test_the_legacy_boolean_is_startLater():
    """True/False are startLater, as lovely.remotetask's clients send."""
    assert parseAddOptions(True) == {'startLater': True}
    assert parseAddOptions(False) == {'startLater': False}


def test_a_struct_gives_its_known_members_as_keywords():
    """Each member passes as the keyword argument of the same name."""
    given = {'startLater': True, 'priority': 5, 'key': 'k', 'delay': 1.5,
             'maxAttempts': 2, 'notify': 'http://h/'}
    assert set(given) == set(MEMBERS)
    assert parseAddOptions(given) == given
    assert parseAddOptions({}) == {}


@pytest.mark.parametrize('value, words', [
    (1, 'must be bool or dict, not int'),
    ('yes', 'must be bool or dict, not str'),
    (None, 'must be bool or dict, not NoneType'),
    ({'colour': 5}, "unknown members: 'colour'"),
    ({'notify': ['http://h/']}, 'options.notify must be str'),
    ({'priority': 1.5}, 'options.priority must be int'),
])
def test_anything_else_is_refused_saying_why(value, words):
    """Another type, an unknown member or a member of the wrong type is
    fault 3, naming it."""
    with pytest.raises(InvalidArgument, match=words):
        parseAddOptions(value)

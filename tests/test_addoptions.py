"""add's third argument over XML-RPC and the JSON view: the legacy
startLater boolean or a struct of options."""

import pytest

from remotetask import InvalidArgument
from remotetask.wire.addoptions import MEMBERS, parseAddOptions, parseSteps


def test_the_legacy_boolean_is_startLater():
    """True/False are startLater, as lovely.remotetask's clients send."""
    assert parseAddOptions(True) == {'startLater': True}
    assert parseAddOptions(False) == {'startLater': False}


def test_a_struct_gives_its_known_members_as_keywords():
    """Each member passes as the keyword argument of the same name, but
    pass (a word of Python), which is passResults."""
    given = {'startLater': True, 'priority': 5, 'key': 'k', 'delay': 1.5,
             'maxAttempts': 2, 'notify': 'http://h/', 'after': [1, 2],
             'onFailure': 'run', 'pass': True}
    assert set(given) == set(MEMBERS)
    keywords = dict(given, passResults=True)
    del keywords['pass']
    assert parseAddOptions(given) == keywords
    assert parseAddOptions({}) == {}


def test_steps_are_lists_or_structs_with_their_options_parsed():
    """A step of a chain or group is [task, input], [task, input,
    options] or {task, input, options}; its options as add's."""
    assert parseSteps([['a'], ['b', 1], ['c', 2, {'pass': False}],
                       {'task': 'd', 'input': 3}], 10) == [
        ('a', None, {}), ('b', 1, {}), ('c', 2, {'passResults': False}),
        ('d', 3, {})]


@pytest.mark.parametrize('steps, words', [
    ([], 'steps must hold 1 to 2 steps'),
    ([['a']] * 3, 'steps must hold 1 to 2 steps'),
    ('a', 'steps must be list'),
    ([[1]], 'The task name of a step must be str'),
    ([{'task': 'a', 'colour': 1}], "unknown members: 'colour'"),
    ([['a', 1, {'after': 'x'}]], 'options.after must be list'),
    ([['a', 1, {}, 4]], 'Each step is'),
])
def test_bad_steps_are_refused_saying_why(steps, words):
    """Too few or too many steps (the bound counted before a step is
    read), or a step of the wrong shape, is fault 3, saying why."""
    with pytest.raises(InvalidArgument, match=words):
        parseSteps(steps, 2)


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

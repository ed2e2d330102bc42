"""The one path from an outcome to an answer (``remotetask.wire.answers``):
whatever fails on the way, the client gets an answer and the request is
finished. Requests here are Twisted's ``DummyRequest`` or real ones on a
string transport; no network, no reactor."""

import json
import xmlrpc.client

from twisted.python.failure import Failure
from twisted.web import resource
from twisted.web.test.requesthelper import DummyRequest

from remotetask.errors import NoSuchJob
from remotetask.web.api import ANSWERS as JSON
from remotetask.wire import answers
from remotetask.wire.carried import readable
from remotetask.wire.site import makeSite
from tests.wirefakes import REQUEST, Held, connect


def sent(request):
    return b''.join(request.written)


class Broken:
    """A value that no encoder takes."""


class BrokenAnswers(answers.Answers):
    """A surface whose encoders both fail."""

    def encode(self, value):
        raise RuntimeError('cannot encode')

    def encodeError(self, failure):
        raise RuntimeError('cannot encode the error either')


def test_a_value_no_encoder_takes_still_gets_an_answer():
    """A JSON value json cannot write becomes a 500 JSON error and an
    XML-RPC value the marshaller cannot write (a set) a Fault; each
    request is finished."""
    request = DummyRequest([b''])
    answers.send(Broken(), request, JSON)
    assert request.finished and request.responseCode == 500
    assert json.loads(sent(request))['code'] == 9
    request = DummyRequest([b''])
    answers.send({'x': {1, 2}}, request, answers.XMLRPC)
    assert request.finished and request.responseCode == 200
    try:
        xmlrpc.client.loads(sent(request))
        raise AssertionError('not a fault')
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == 3


def test_a_text_answer_that_fails_to_encode_is_a_500():
    """On a plain-text surface, a value that cannot be encoded is the 500
    of last resort, not a client error."""
    request = DummyRequest([b''])
    answers.send(Broken(), request, answers.TEXT)
    assert request.finished and request.responseCode == 500
    assert sent(request) == answers.LAST_RESORT[2]


def test_when_even_the_error_cannot_be_encoded_the_last_resort_is_sent():
    """If a surface fails to encode both the value and the error, the
    client gets the plain-text 500 of last resort."""
    request = DummyRequest([b''])
    answers.send('anything', request, BrokenAnswers())
    assert request.finished and request.responseCode == 500
    assert sent(request) == answers.LAST_RESORT[2]


def test_errors_keep_their_status_and_text_that_cannot_be_encoded_is():
    """A client error keeps its status and code; an error message holding
    a lone surrogate (from a client's input) is sent as a JSON escape
    instead of failing the answer."""
    request = DummyRequest([b''])
    answers.send(Failure(NoSuchJob('no job \ud800')), request, JSON)
    assert request.responseCode == 404
    assert json.loads(sent(request)) == dict(error='no job \ud800', code=2)


def test_a_client_that_has_gone_gets_nothing():
    """Nothing is written for a client that has gone."""
    request = DummyRequest([b''])
    answers.send('late', request, JSON, gone=[True])
    assert not request.finished and request.written == []


def test_stored_text_xml_cannot_carry_is_sent_escaped_over_xmlrpc():
    """A value holding a control character or a lone surrogate (which a
    store may hold) reaches an XML-RPC client with those characters as
    backslash escapes; a carriage return and other text are unchanged."""
    request = DummyRequest([b''])
    value = {'in\x1b': ['\x1b[31mred', 'caf\ud800', 'ok\r\n', 7]}
    answers.send(value, request, answers.XMLRPC)
    (read,), _ = xmlrpc.client.loads(sent(request))
    assert read == {'in\\x1b': ['\\x1b[31mred', 'caf\\ud800', 'ok\r\n', 7]}
    assert readable(value) == read


class Raising(resource.Resource):
    """Raises in render, after naming its surface."""

    isLeaf = True

    def __init__(self, surface):
        super().__init__()
        self.surface = surface

    def render(self, request):
        if self.surface is not None:
            answers.expect(request, self.surface)
        raise RuntimeError('a bug')


def answerOf(surface):
    protocol, transport = connect(makeSite(Raising(surface), 1024))
    protocol.dataReceived(REQUEST)
    head, _, body = transport.value().partition(b'\r\n\r\n')
    return head.split(b'\r\n')[0], body


def test_an_exception_in_render_is_answered_on_the_resources_surface():
    """An exception escaping a resource's render is answered as a JSON
    500 on the JSON view, a Fault 9 on XML-RPC, and a text 500 elsewhere:
    one path for all of them."""
    status, body = answerOf(JSON)
    assert b' 500 ' in status and json.loads(body)['code'] == 9
    status, body = answerOf(answers.XMLRPC)
    assert b' 200 ' in status
    try:
        xmlrpc.client.loads(body)
        raise AssertionError('not a fault')
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == 9
    status, body = answerOf(None)
    assert b' 500 ' in status and body == answers.LAST_RESORT[2]


def test_after_an_exception_in_render_the_connection_goes_on():
    """After such an answer, the connection serves its next request."""
    held = Held()
    root = resource.Resource()
    root.putChild(b'bug', Raising(JSON))
    root.putChild(b'', held)
    protocol, transport = connect(makeSite(root, 1024))
    protocol.dataReceived(b'GET /bug HTTP/1.1\r\nHost: localhost\r\n\r\n')
    assert b' 500 ' in transport.value()
    protocol.dataReceived(REQUEST)
    assert len(held.requests) == 1

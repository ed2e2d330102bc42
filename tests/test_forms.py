"""Which request bodies Twisted reads as forms (``remotetask.wire.site``):
an XML-RPC or JSON body is never parsed as one, nor its Content-Type
header through the ``email`` package; a real form still is. On the real
site over a string transport."""

from twisted.web import http

from remotetask.wire.site import makeSite
from tests.wirefakes import Held, connect


def post(kind, body):
    """A POST of ``body`` as ``kind`` through the real site; the request
    its resource was given."""
    held = Held()
    protocol, _ = connect(makeSite(held, 1024))
    protocol.dataReceived(
        b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ' + kind
        + b'\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n\r\n'
        + body)
    request, = held.requests
    return request


def countParses(monkeypatch):
    """Count Twisted's parses of a Content-Type header."""
    parses = []
    parse = http._parseContentType

    def counted(line):
        parses.append(line)
        return parse(line)
    monkeypatch.setattr(http, '_parseContentType', counted)
    return parses


def test_an_xml_or_json_body_is_not_parsed_as_a_form(monkeypatch):
    """A body sent as text/xml (with a charset, in any case) or as JSON
    is left as it came: no form arguments, its header not parsed."""
    parses = countParses(monkeypatch)
    for kind in (b'text/xml', b'Text/XML; charset=utf-8',
                 b'application/json'):
        request = post(kind, b'a=1')
        assert request.args == {}
        assert request.content.read() == b'a=1'
    assert parses == []


def test_a_form_is_still_read_into_the_arguments(monkeypatch):
    """A body sent as a form, or with a Content-Type that is not plainly
    one of those types, is parsed by Twisted as before."""
    parses = countParses(monkeypatch)
    request = post(b'application/x-www-form-urlencoded', b'a=1')
    assert request.args == {b'a': [b'1']}
    post(b'(comment) text/xml', b'<x/>')
    assert len(parses) == 2

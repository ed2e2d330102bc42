"""Every request gets an answer, whatever happens.

This is the one path from what a resource computed (a value, or a failure,
perhaps later through a Deferred) to the bytes a client receives, for
XML-RPC, JSON and plain text alike. A surface (``Answers``) says how a
value and an error look on it; ``send`` makes sure that, if even that
fails (a value no encoder takes, a bug in an error message), the client
still gets an answer of last resort and the request is finished, so that
no route can leave a connection hanging until its idle timeout.

An exception that escapes ``render`` itself reaches the same path through
``LimitedRequest.processingFailed`` (``remotetask.wire.site``), on the
surface the resource named with ``expect``.

A body is bytes, or ``Encoded`` chunks (a large answer written in a
thread); the site's ``Outbox`` (``remotetask.wire.sending``) sends it, a
large one as the client takes it, or refuses it (fault 11) when the
answers already waiting for their clients hold all the memory allowed.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.xmlrpc import Fault

from remotetask.errors import InternalError, InvalidArgument, RemoteTaskError
from remotetask.wire import sending
from remotetask.wire.faults import toFault
from remotetask.wire.carried import readable
from remotetask.wire.marshal import NOT_XML, Encoded, encodeAnswer, wireAnswer

log = Logger()

TEXT_TYPE = b'text/plain; charset=utf-8'
#: What a client gets when nothing else could be sent.
LAST_RESORT = (500, TEXT_TYPE, b'The server failed on this request; the '
               b'details are in its log.\n')


class Answers:
    """How a surface answers: ``encode`` turns a value, ``encodeError``
    a Failure, into ``(status, content type, body bytes)``. Either may
    raise; ``send`` then falls back."""

    def encode(self, value):
        code, body = value if isinstance(value, tuple) else (200, value)
        return code, TEXT_TYPE, body

    def encodeError(self, failure):
        if isinstance(failure.value, InternalError):
            return LAST_RESORT
        if not isinstance(failure.value, RemoteTaskError):
            log.failure('A request failed', failure)
            return LAST_RESORT
        return 400, TEXT_TYPE, str(failure.value).encode('utf-8',
                                                         'backslashreplace')


class XmlRpcAnswers(Answers):
    """A methodResponse, always HTTP 200: a value, or a Fault. Values
    written in a thread (``Encoded``, within the request's answer size)
    are inlined as they are."""

    contentType = b'text/xml; charset=utf-8'

    def encode(self, value):
        try:
            body = encodeAnswer(value)
        except ValueError:
            # Text XML cannot carry (a control character, a lone
            # surrogate), which only a store written otherwise than
            # through this API can hold: sent as backslash escapes, so
            # that what is stored can always be read.
            body = None
        except Exception as error:
            return self._cannotSend(error)
        if body is None:
            try:
                body = encodeAnswer(readable(value))
            except Exception as error:
                return self._cannotSend(error)
        return 200, self.contentType, body

    def _cannotSend(self, error):
        message = NOT_XML.sub('?', str(error))
        return 200, self.contentType, wireAnswer(toFault(InvalidArgument(
            f'The answer cannot be sent over XML-RPC: {message}.')))

    def encodeError(self, failure):
        if not isinstance(failure.value, (Fault, RemoteTaskError)):
            log.failure('An XML-RPC request failed', failure)
        fault = toFault(failure.value)
        try:
            body = wireAnswer(fault)
        except ValueError:
            body = wireAnswer(Fault(fault.faultCode,
                                    readable(fault.faultString)))
        return 200, self.contentType, body


TEXT = Answers()
XMLRPC = XmlRpcAnswers()


def expect(request, answers):
    """Say which surface ``request`` is answered on, for an exception
    that escapes ``render`` (``LimitedRequest.processingFailed``)."""
    request.answers = answers


def surfaceOf(request):
    return getattr(request, 'answers', TEXT)


def answer(request, outcome, answers):
    """Answer ``request`` with ``outcome`` (a value, a Failure or a
    Deferred of a value) on ``answers``; for a resource's ``render``,
    which then returns ``NOT_DONE_YET``. A client that has gone gets
    nothing."""
    expect(request, answers)
    gone = []
    request.notifyFinish().addErrback(gone.append)
    if isinstance(outcome, defer.Deferred):
        outcome.addBoth(send, request, answers, gone)
    else:
        send(outcome, request, answers, gone)


def send(outcome, request, answers, gone=()):
    """Write ``outcome`` (a value or a Failure) as the answer to
    ``request`` and finish it; never raises. ``gone`` is true once the
    client has gone (then nothing is written)."""
    if gone or getattr(request, 'channel', True) is None:
        return None
    code, kind, body = _encode(outcome, answers)
    outbox = getattr(getattr(request, 'site', None), 'outbox', None)
    size = _size(body)
    if outbox is not None and not outbox.admits(size):
        code, kind, body = _encode(Failure(outbox.refuse(size)), answers)
        size = _size(body)
    try:
        request.setResponseCode(code)
        request.setHeader(b'content-type', kind)
        request.setHeader(b'content-length', b'%d' % size)
        if outbox is None:
            sending.sendNow(request, body)
        else:
            outbox.send(request, body)
    except Exception:
        log.failure('Answering a request failed; closing its connection')
        _close(request)
    return None


def _encode(outcome, answers):
    """``(status, content type, body)`` of ``outcome`` on ``answers``;
    never raises."""
    try:
        if isinstance(outcome, Failure):
            code, kind, body = answers.encodeError(outcome)
        else:
            code, kind, body = answers.encode(outcome)
        if type(body) is not bytes and not isinstance(body, Encoded):
            raise TypeError(f'an answer is bytes, not {type(body).__name__}')
    except Exception:
        code, kind, body = _fallback(answers, Failure())
    return code, kind, body


def _size(body):
    return body.size if isinstance(body, Encoded) else len(body)


def _fallback(answers, failure):
    """The surface's answer for a failure to encode; the last resort if
    even that fails."""
    log.failure('Encoding an answer failed', failure)
    try:
        return answers.encodeError(Failure(InternalError()))
    except Exception:
        log.failure('Encoding an error answer failed')
        return LAST_RESORT


def _close(request):
    try:
        request.loseConnection()
    except Exception:
        log.failure('Closing a connection failed')

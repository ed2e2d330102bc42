"""The side of the XML-RPC resource that takes calls in and sends
answers out.

A request body is parsed on the reactor thread up to ``PARSE_INLINE``
bytes, in a thread (``parseCall``) beyond. The method named is looked up
(with Zope's names for the introspection methods), its arity checked
against the signature read once per method, and it is given those of the
server's own keywords it takes: ``budget`` (what a multicall's answer has
left), ``checked`` (the parser found only values XML-RPC can send back)
and ``caller`` (the request's ``Principal``). Every answer, a value or a
``Fault``, goes out through ``remotetask.wire.answers``.
"""

import inspect

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import server
from twisted.web.xmlrpc import XMLRPC, Fault

from remotetask.errors import InvalidArgument, RemoteTaskError, RequestTooLarge
from remotetask.wire import answers
from remotetask.wire.faults import toFault
from remotetask.wire.signatures import canonicalName
from remotetask.wire.unmarshal import parseRequest

log = Logger()

#: Request bodies up to this many bytes are parsed on the reactor thread
#: (a thread hop would cost more); larger ones in a thread.
PARSE_INLINE = 65536


class CallingResource(XMLRPC):
    """An XML-RPC resource whose ``xmlrpc_*`` methods may return Deferreds
    and take the server's keywords; ``parseCall(f, *args)`` runs the
    parsing of a large request in a thread (a Deferred)."""

    def __init__(self, parseCall):
        super().__init__()
        self.parseCall = parseCall
        self._signatures = {}

    # The HTTP side

    def render_POST(self, request):
        answers.expect(request, answers.XMLRPC)
        limit = getattr(request, 'tooLargeFor', None)
        if limit is not None:
            self._respond(toFault(RequestTooLarge(
                f'The request is larger than this server accepts '
                f'({limit} bytes; see --max-request-size).')), request)
            return server.NOT_DONE_YET
        gone = []
        caller = getattr(request, 'principal', None)
        request.notifyFinish().addErrback(gone.append)
        kind = request.getHeader('content-type')
        content = request.content
        content.seek(0, 2)
        if content.tell() > PARSE_INLINE:
            answer = self.parseCall(_parse, content, kind)
            answer.addCallbacks(self._call, _notXmlRpc,
                                callbackArgs=(caller,))
        else:
            # Parsed here, and the method's own Deferred answered: a
            # Deferred of the parse with the method's chained to it cost
            # some 6 us more per call (issue 18).
            try:
                parsed = _parse(content, kind)
            except Exception:
                answer = defer.succeed(_notXmlRpc(Failure()))
            else:
                answer = defer.maybeDeferred(self._call, parsed, caller)
        answer.addBoth(self._respond, request, gone)
        return server.NOT_DONE_YET

    def _call(self, parsed, caller):
        args, name, sendable = parsed
        return self.callMethod(name, args, checked=sendable, caller=caller)

    def _respond(self, result, request, gone=()):
        # The one path every answer takes (remotetask.wire.answers).
        answers.send(result, request, answers.XMLRPC, gone)

    def callMethod(self, name, args, budget=None, checked=False,
                   caller=None):
        """Call the method ``name``; a Deferred of its result or Fault.
        ``budget`` (a ``reading.AnswerBudget``): what the answer has left,
        for a call in a multicall. ``checked``: the parser found only
        values XML-RPC can send back in the request, so the methods need
        not walk their inputs again (``checkInput``). ``caller``: the
        request's ``Principal`` (None on an open server), for the methods
        to decide by (``remotetask.core.permissions``)."""
        if not isinstance(name, str):
            return defer.succeed(toFault(InvalidArgument(
                'The method name must be a string.')))
        try:
            function = self.lookupProcedure(name)
        except Fault as fault:
            return defer.succeed(fault)
        arity = self._signatures.get(name)
        if arity is None:
            arity = self._signatures[name] = _arity(function)
        names, least, signature, extra = arity
        if not least <= len(args) <= len(names):
            error = (f"missing a required argument: '{names[len(args)]}'"
                     if len(args) < least else
                     'too many positional arguments')
            return defer.succeed(toFault(InvalidArgument(
                f'{name}{signature}: {error}.')))
        given = dict(budget=budget, checked=checked, caller=caller)
        d = defer.maybeDeferred(function, *args, **{
            keyword: given[keyword] for keyword in extra})
        d.addErrback(self._failed, name)
        return d

    def _failed(self, failure, name):
        if not isinstance(failure.value, (Fault, RemoteTaskError)):
            log.failure('{name} failed', failure, name=name)
        return toFault(failure.value)

    def lookupProcedure(self, procedurePath):
        """The method ``procedurePath`` names; ``listMethods``,
        ``methodHelp`` and ``methodSignature`` name the ``system.`` ones,
        as with Zope."""
        return super().lookupProcedure(canonicalName(procedurePath))


def _arity(function):
    """``(names, least, signature, extra)``: the positional parameters
    of ``function``, how many are required, and which of the keywords
    ``budget``, ``checked`` and ``caller`` it takes, read once per method
    (binding a signature at every call costs more than the rest of the
    argument checks)."""
    signature = inspect.signature(function)
    positional = [parameter for parameter in signature.parameters.values()
                  if parameter.kind in (parameter.POSITIONAL_ONLY,
                                        parameter.POSITIONAL_OR_KEYWORD)]
    least = sum(1 for parameter in positional
                if parameter.default is parameter.empty)
    extra = [name for name in ('budget', 'checked', 'caller')
             if name in signature.parameters]
    # As a caller sees it: the server's own keywords are not arguments.
    shown = signature.replace(parameters=positional)
    return [parameter.name for parameter in positional], least, shown, extra


def _parse(content, kind):
    """``(params, methodName, sendable)`` of a request's body
    (``content``, a file), sent with the Content-Type ``kind``:
    ``sendable`` says the parser found only values XML-RPC can send back
    (see ``parseRequest``)."""
    content.seek(0, 0)
    return parseRequest(content.read(), kind)


def _notXmlRpc(failure):
    return toFault(InvalidArgument(
        f'The request is not valid XML-RPC: {failure.value}'))

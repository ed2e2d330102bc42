"""``system.*``: introspection and ``system.multicall``.

Consecutive ``add`` calls in a multicall are stored together, in one
transaction, rather than one after the other. The calls of a multicall
share one answer budget (``--max-answer-size``), counted call by call as
each answer is written: a result that does not fit in what is left
becomes fault 12, and the calls after it still run while there is room;
once there is none, they get fault 12 without being run
(``reading.AnswerBudget``).
"""

import inspect

from twisted.internet import defer, task
from twisted.web.xmlrpc import Fault, XMLRPCIntrospection

from remotetask.errors import InvalidArgument
from remotetask.wire.checks import need
from remotetask.wire.faults import toFault
from remotetask.wire.reading import AnswerBudget
from remotetask.wire.signatures import SIGNATURES, canonicalName

#: How many calls of a multicall run before it lets other clients in.
YIELD_EVERY = 64


class SystemHandler(XMLRPCIntrospection):
    """``system.listMethods``, ``methodHelp``, ``methodSignature`` and
    ``multicall``, as Python's own XML-RPC server offers; the first three
    answer without the prefix too (``TaskServiceResource.lookupProcedure``),
    as Zope's did."""

    def __init__(self, parent):
        super().__init__(parent)
        self.parent = parent
        self._methods = None

    def xmlrpc_listMethods(self):
        """Return a list of the method names implemented by this server."""
        # Read once: walking the handlers' methods took 0.4 ms a call,
        # which a multicall of thousands spent on the reactor thread.
        if self._methods is None:
            self._methods = super().xmlrpc_listMethods()
        return list(self._methods)

    def xmlrpc_methodHelp(self, method):
        """Return the help text of the method named."""
        function = self.parent.lookupProcedure(
            need('The method name', method, str))
        return inspect.getdoc(function) or ''

    def xmlrpc_methodSignature(self, method):
        """Return the signatures of the method named: an array of arrays,
        each the return type and then the parameters' types."""
        need('The method name', method, str)
        self.parent.lookupProcedure(method)
        return SIGNATURES[canonicalName(method)]

    def xmlrpc_multicall(self, calls, *, checked=False, caller=None):
        """Run many calls in one request; return, for each, [result] or a
        fault struct. Consecutive add calls are stored in one transaction.
        """
        need('multicall', calls, list)
        return self._multicall(calls, checked, caller)

    @defer.inlineCallbacks
    def _multicall(self, calls, checked, caller):
        results = []
        budget = AnswerBudget(self.parent.maxAnswerSize, len(calls))
        index = 0
        while index < len(calls):
            if index and not index % YIELD_EVERY:
                # Calls answered on the reactor thread (system.*, faults)
                # take turns with the other clients'.
                yield task.deferLater(self.parent.clock, 0, lambda: None)
            adds = []
            while index + len(adds) < len(calls) and _isAdd(
                    calls[index + len(adds)]):
                adds.append(calls[index + len(adds)])
            if len(adds) > 1:
                requests = [_addArguments(call) for call in adds]
                answers = yield self.parent.addEach(requests, checked,
                                                    caller)
                for answer in answers:
                    budget.begin()
                    results.append(budget.take(_multicallAnswer(answer)))
                index += len(adds)
                continue
            call = calls[index]
            index += 1
            if not budget.begin():
                results.append(budget.notRun())
                continue
            answer = yield self._call(call, budget, checked, caller)
            results.append(budget.take(_multicallAnswer(answer)))
        return results

    def _call(self, call, budget, checked, caller):
        """A Deferred of one call's answer (a value or an error)."""
        if not isinstance(call, dict) or not isinstance(
                call.get('params', []), list):
            return defer.succeed(InvalidArgument(
                'Each call must be a struct with methodName and params (an '
                'array).'))
        name = call.get('methodName')
        if name == 'system.multicall':
            return defer.succeed(InvalidArgument(
                'system.multicall cannot be nested.'))
        return self.parent.callMethod(name, call.get('params', []), budget,
                                      checked, caller)


def _isAdd(call):
    """Whether ``call`` is an add that addEach can take as it is (its
    options are checked there, each add refused alone)."""
    if not (isinstance(call, dict) and call.get('methodName') == 'add'):
        return False
    params = call.get('params')
    return (isinstance(params, list) and 1 <= len(params) <= 3
            and type(params[0]) is str
            and (len(params) < 3 or type(params[2]) in (bool, dict)))


def _addArguments(call):
    """``(task, input, options)`` of an add call."""
    params = call['params']
    return tuple(params) + (None, None, False)[len(params):]


def _multicallAnswer(answer):
    if isinstance(answer, (Fault, Exception)):
        fault = toFault(answer)
        return dict(faultCode=fault.faultCode, faultString=fault.faultString)
    return [answer]

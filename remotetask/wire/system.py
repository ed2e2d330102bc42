"""``system.*``: introspection and ``system.multicall``.

Consecutive ``add`` calls in a multicall are stored together, in one
transaction, rather than one after the other. The calls of a multicall
share one answer budget (``--max-answer-size``): a result that does not fit
in what is left becomes fault 12, and the calls after it still run.
"""

import inspect

from twisted.internet import defer
from twisted.web.xmlrpc import Fault, XMLRPCIntrospection

from remotetask.errors import InvalidArgument
from remotetask.wire.checks import need
from remotetask.wire.faults import toFault
from remotetask.wire.reading import AnswerBudget
from remotetask.wire.signatures import SIGNATURES, canonicalName


class SystemHandler(XMLRPCIntrospection):
    """``system.listMethods``, ``methodHelp``, ``methodSignature`` and
    ``multicall``, as Python's own XML-RPC server offers; the first three
    answer without the prefix too (``TaskServiceResource.lookupProcedure``),
    as Zope's did."""

    def __init__(self, parent):
        super().__init__(parent)
        self.parent = parent

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
        budget = AnswerBudget(self.parent.maxAnswerSize)
        index = 0
        while index < len(calls):
            adds = []
            while index + len(adds) < len(calls) and _isAdd(
                    calls[index + len(adds)]):
                adds.append(calls[index + len(adds)])
            if len(adds) > 1:
                requests = [_addArguments(call) for call in adds]
                answers = yield self.parent.addEach(requests, checked,
                                                    caller)
                results.extend(_multicallAnswer(answer) for answer in answers)
                index += len(adds)
                continue
            call = calls[index]
            index += 1
            if not isinstance(call, dict) or not isinstance(
                    call.get('params', []), list):
                results.append(_multicallAnswer(InvalidArgument(
                    'Each call must be a struct with methodName and '
                    'params (an array).')))
                continue
            name = call.get('methodName')
            if name == 'system.multicall':
                results.append(_multicallAnswer(InvalidArgument(
                    'system.multicall cannot be nested.')))
                continue
            answer = yield self.parent.callMethod(
                name, call.get('params', []), budget, checked, caller)
            budget.charge(answer)
            results.append(_multicallAnswer(answer))
        return results


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

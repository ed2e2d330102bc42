"""``system.*``: introspection and ``system.multicall``.

Consecutive ``add`` calls in a multicall are stored together, in one
transaction, rather than one after the other; consecutive ``getStatus``
calls are read together, in one store thread's turn (one hop to the
thread and back for all of them, not one each: a client checking
thousands of jobs at once cost the server more than their runs). The
calls of a multicall
share one answer budget (``--max-answer-size``), counted call by call as
each answer is written: a result that does not fit in what is left
becomes fault 12, and the calls after it still run while there is room;
once there is none, they get fault 12 without being run
(``reading.AnswerBudget``).
"""

import inspect
import itertools

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.web.xmlrpc import Fault, XMLRPCIntrospection

from remotetask.core.permissions import scoped, seesAll
from remotetask.core.status import Status
from remotetask.errors import InvalidArgument, NoSuchJob, RemoteTaskError
from remotetask.wire.checks import jobId, need
from remotetask.wire.faults import toFault
from remotetask.wire.reading import AnswerBudget
from remotetask.wire.signatures import SIGNATURES, canonicalName

log = Logger()

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
            adds = _addRun(calls, index)
            if len(adds) > 1:
                # Per add: an id most of the time, answered without a call.
                answers = yield self.parent.addEach(adds, checked, caller)
                results += budget.takeEach(
                    [[answer] if answer.__class__ is int else
                     _multicallAnswer(answer) for answer in answers])
                index += len(adds)
                continue
            reads = _sameKind(calls, index, _isGetStatus)
            if len(reads) > 1:
                answers = yield self._statuses(
                    [call['params'][0] for call in reads], caller)
                results.extend(
                    budget.take(_multicallAnswer(answer)) if budget.begin()
                    else budget.notRun() for answer in answers)
                index += len(reads)
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


    def _statuses(self, jobids, caller):
        """A Deferred of the answers of ``getStatus`` for each of
        ``jobids``, as each call alone would give them (a status, or the
        error that refused it), read in one store call."""
        answers, valid = [], []
        for jobid in jobids:
            try:
                valid.append(jobId(jobid))
            except RemoteTaskError as error:
                answers.append(error)
            else:
                answers.append(None)
        d = self.parent.storeCall(_readStatuses,
                                  scoped(self.parent.service.reads, caller),
                                  valid, seesAll(caller))

        def answered(statuses):
            found = iter(statuses)
            return [next(found) if answer is None else answer
                    for answer in answers]

        def failed(failure):
            # As callMethod does for one call: a client's error is its
            # answer; anything else is a bug, logged, and fault 9.
            if not failure.check(RemoteTaskError):
                log.failure('getStatus failed', failure)
            return [failure.value if answer is None else answer
                    for answer in answers]
        return d.addCallbacks(answered, failed)


def _readStatuses(reads, jobids, seesAll):
    """In a store thread: the status of each of ``jobids`` as a string,
    or the ``RemoteTaskError`` that refuses it (an unknown job, another
    caller's). Whoever sees every job has them read in one query."""
    if seesAll:
        found = reads.statuses(jobids)
        return [str(Status(found[jobid])) if jobid in found
                else NoSuchJob.withId(jobid) for jobid in jobids]
    answers = []
    for jobid in jobids:
        try:
            answers.append(str(reads.getStatus(jobid)))
        except RemoteTaskError as error:
            # Without the traceback, which holds the frames that read.
            answers.append(error.with_traceback(None))
    return answers


def _sameKind(calls, index, isKind):
    """The calls from ``index`` on, as long as ``isKind`` says they are
    of the kind that runs together."""
    end = index
    while end < len(calls) and isKind(calls[end]):
        end += 1
    return calls[index:end]


def _isGetStatus(call):
    """Whether ``call`` is a ``getStatus`` of one argument."""
    return (isinstance(call, dict) and call.get('methodName') == 'getStatus'
            and isinstance(call.get('params'), list)
            and len(call['params']) == 1)


def _addRun(calls, index):
    """The ``(task, input, options)`` of the calls from ``index`` on, as
    long as each is an add that addEach can take as it is (its options
    are checked there, each add refused alone), read in one pass rather
    than a call per add."""
    requests = []
    for call in itertools.islice(calls, index, None):
        if not (isinstance(call, dict) and call.get('methodName') == 'add'):
            break
        params = call.get('params')
        if not (isinstance(params, list) and 1 <= len(params) <= 3
                and type(params[0]) is str
                and (len(params) < 3 or type(params[2]) in (bool, dict))):
            break
        requests.append(tuple(params) + _ADD_DEFAULTS[len(params):])
    return requests


#: What ``(task, input, options)`` an add call's params leave out are.
_ADD_DEFAULTS = (None, None, False)


def _multicallAnswer(answer):
    if isinstance(answer, (Fault, Exception)):
        fault = toFault(answer)
        return dict(faultCode=fault.faultCode, faultString=fault.faultString)
    return [answer]

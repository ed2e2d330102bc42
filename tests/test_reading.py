"""Answers made from stored values within a size
(``remotetask.wire.reading``, ``remotetask.wire.marshal``): on a
TaskService in memory, with store calls made at once instead of in a
thread, so that each rule is seen without a network."""

import xmlrpc.client

import pytest
from twisted.internet import defer

from remotetask import SimpleTask, TaskService
from remotetask.errors import AnswerTooLarge
from remotetask.wire import reading
from remotetask.wire.marshal import CHUNK, encodeAnswer, encodeValue
from remotetask.wire.xmlrpc import TaskServiceResource
from tests import tasks


def stdlib(value):
    """The methodResponse the stdlib's marshaller writes for ``value``."""
    return xmlrpc.client.dumps((value,), methodresponse=True,
                               allow_none=True).encode()


def now(function, *args, **kwargs):
    """A store call made at once."""
    return defer.maybeDeferred(function, *args, **kwargs)


def makeService():
    service = TaskService()
    service.registry.register('echo', SimpleTask(tasks.echo))
    return service


def finished(service, *outputs):
    """Completed echo jobs with these outputs; their ids."""
    ids = [service.add('echo', output) for output in outputs]
    service.process()
    return ids


def struct(encoded):
    """The value an ``Encoded`` value stands for, read back."""
    (value,), _ = xmlrpc.client.loads(
        b'<methodResponse><params><param>' + bytes(encoded)
        + b'</param></params></methodResponse>')
    return value


def result(d):
    found = []
    d.addBoth(found.append)
    assert found, 'the Deferred has not fired'
    return found[0]


def test_an_answer_is_written_in_chunks_as_the_stdlib_writes_it():
    """``encodeAnswer`` writes the bytes the stdlib's marshaller writes,
    in chunks of about ``CHUNK`` bytes, a value written earlier
    (``encodeValue``) inlined as it is."""
    value = {'rows': [{'id': i, 'name': f'row {i} <&>'} for i in range(5000)]}
    encoded = encodeAnswer(value)
    assert bytes(encoded) == stdlib(value)
    assert len(encoded.chunks) > 5
    assert max(map(len, encoded.chunks)) < 2 * CHUNK + 1024
    assert encoded.size == len(bytes(encoded))
    inlined = encodeAnswer([encodeValue(value), 7])
    assert xmlrpc.client.loads(bytes(inlined))[0] == ([value, 7],)


def test_writing_stops_at_the_limit():
    """Past its limit, an answer is refused with ``AnswerTooLarge``
    (fault 12) naming --max-answer-size; at the limit it is written."""
    size = encodeAnswer('x' * 10000).size
    assert encodeAnswer('x' * 10000, limit=size).size == size
    with pytest.raises(AnswerTooLarge) as info:
        encodeAnswer('x' * 10000, limit=size - 1)
    assert info.value.faultCode == 12
    assert '--max-answer-size' in str(info.value)


def test_a_result_too_large_is_refused_before_it_is_decoded():
    """A stored result whose stored form alone is over the limit is
    refused without being decoded; escapes count for what they are sent
    as (six characters of ``\\u00e9``, two bytes of UTF-8), so a result of
    such text that fits is sent."""
    service = makeService()
    plain, accented = finished(service, 'x' * 5000, '\xe9' * 5000)
    assert len(service.reads.getRow(accented)['output']) == 30002
    with pytest.raises(AnswerTooLarge):
        reading.readResult(service.reads, 4000, plain)
    assert reading.readResult(service.reads, 20000, accented) == '\xe9' * 5000
    assert reading.encodeWithin('\xe9' * 5000, 20000).size < 20000


def test_a_job_too_large_leaves_out_its_largest_members():
    """A job's struct that would pass the limit is sent without its
    largest members (here its output, then its input), ``omitted``
    naming each with its stored size; one that fits is sent whole."""
    service = makeService()
    jobid, = finished(service, {'data': 'x' * 20000})
    row = service.reads.getRow(jobid)
    whole = reading.readJob(service.reads, 100000, jobid)
    struct, = xmlrpc.client.loads(b'<methodResponse><params><param>'
                                  + bytes(whole) + b'</param></params>'
                                  b'</methodResponse>')[0]
    assert struct['output'] == {'data': 'x' * 20000}
    assert 'omitted' not in struct
    for limit, left in ((30000, {'output'}), (5000, {'output', 'input'})):
        encoded = reading.readJob(service.reads, limit, jobid)
        assert encoded.size <= limit
        (struct,), _ = xmlrpc.client.loads(
            b'<methodResponse><params><param>' + bytes(encoded)
            + b'</param></params></methodResponse>')
        assert set(struct['omitted']) == left
        assert struct['omitted']['output'] == len(row['output'])
        assert not left & set(struct)
        assert struct['status'] == 'completed'


#: The jobs of task echo, oldest first.
ECHO = reading.oldestFirst(None, 'echo')


class CountingService:
    """A service whose ``findRows`` and ``newest`` calls are recorded."""

    def __init__(self, service):
        self.service = service
        self.asked = []
        self.timezone = service.timezone
        self.getRow = service.reads.getRow

    def findRows(self, **filters):
        self.asked.append(filters['limit'])
        return self.service.reads.findRows(**filters)

    def newest(self, **filters):
        self.asked.append(filters['limit'])
        return self.service.reads.newest(**filters)


def everyPage(counting, fetch):
    """The jobs of every page from the start, in 50,000-byte pages,
    checking that no read asked for more than 8 rows at once; at most 50
    pages."""
    seen, cursor = [], 0
    for _ in range(50):
        counting.asked = []
        page = reading.readPage(counting, 100000, 50000, 100, fetch,
                                cursor)
        assert max(counting.asked) <= 8
        seen += page['jobs']
        if 'cursor' not in page:
            return seen
        cursor = page['cursor']
    raise AssertionError('the pages did not end within 50')


def test_a_page_is_cut_by_bytes_and_its_cursor_goes_on():
    """A page ends before the job that would take it past the page's
    size, its cursor being its last job; the first job of a page may
    take the whole answer; rows are read a few at a time (1, 2, 4, 8),
    never all of the page's count at once."""
    service = makeService()
    ids = finished(service, *(['x' * 3000] * 20))
    counting = CountingService(service)
    page = reading.readPage(counting, 100000, 25000, 100, ECHO, 0)
    assert len(page['jobs']) == 3 and page['cursor'] == ids[2]
    assert counting.asked == [1, 2, 4]
    page = reading.readPage(counting, 100000, 1000, 100, ECHO, 0)
    assert len(page['jobs']) == 1 and page['cursor'] == ids[0]
    assert page['jobs'][0].size > 6000
    assert len(everyPage(counting, ECHO)) == 20
    page = reading.readPage(counting, 10 ** 9, 10 ** 9, 5, ECHO, 0)
    assert len(page['jobs']) == 5 and page['cursor'] == ids[4]


def test_newest_first_pages_are_cut_by_bytes_as_well():
    """Newest first, a page is cut the same way, its cursor the
    ``before`` of the next; the pages lead through every job once."""
    service = makeService()
    ids = finished(service, *(['x' * 3000] * 20))
    counting = CountingService(service)
    newest = reading.newestFirst(None, 'echo')
    page = reading.readPage(counting, 100000, 25000, 100, newest, 0)
    assert page['cursor'] == ids[-3] and len(page['jobs']) == 3
    assert [struct(job)['id'] for job in everyPage(counting, newest)] == \
        ids[::-1]


def test_the_calls_of_a_multicall_share_one_answer_size():
    """A multicall's results count against one --max-answer-size: those
    that no longer fit are fault 12, and the calls after them still run
    and answer (a status, a small result)."""
    service = makeService()
    large, small = finished(service, 'x' * 4000, 'y')
    resource = TaskServiceResource(service, now, maxAnswerSize=10000)
    calls = ([{'methodName': 'getResult', 'params': [large]}] * 3
             + [{'methodName': 'getStatus', 'params': [large]},
                {'methodName': 'getResult', 'params': [small]}])
    answers = result(resource.callMethod('system.multicall', [calls]))
    (answers,), _ = xmlrpc.client.loads(bytes(encodeAnswer(answers)))
    assert answers[:2] == [['x' * 4000]] * 2
    assert answers[2]['faultCode'] == 12
    assert answers[3:] == [['completed'], ['y']]
    alone = result(resource.callMethod('getResult', [large]))
    assert alone.size > 4000


def test_a_multicalls_answers_are_joined_as_the_marshaller_writes_them():
    """The answer of an array of values written call by call
    (``Encoded``) is the bytes the marshaller writes for those values,
    and is refused past its limit as any answer is."""
    values = [[7], [2 ** 31 - 1], ['text <&>'], {'faultCode': 3,
                                                  'faultString': 'no'}]
    joined = encodeAnswer([encodeValue(value) for value in values])
    assert bytes(joined) == stdlib(values)
    assert joined.size == len(bytes(joined))
    assert encodeAnswer([encodeValue(value) for value in values],
                        limit=joined.size).size == joined.size
    with pytest.raises(AnswerTooLarge):
        encodeAnswer([encodeValue(value) for value in values],
                     limit=joined.size - 1)


@pytest.mark.parametrize('spare', [100000, 600, 0])
def test_taking_each_answer_is_taking_them_one_by_one(spare):
    """``AnswerBudget.takeEach`` writes each answer (ids, faults, text,
    an int too wide to send) as ``begin`` and ``take`` do one by one,
    counts the same bytes, and like them gives fault 12 to an answer
    that no longer fits a nearly full answer."""
    answers = ([[jobid] for jobid in (1, 22, 2 ** 31 - 1, -2 ** 31)]
               + [{'faultCode': 3, 'faultString': 'refused'}, ['queued'],
                  [2 ** 31], ['y' * 3000]] + [[jobid] for jobid in range(8)])
    # The least a budget of these calls takes, and ``spare`` more.
    limit = reading.ENVELOPE + (len(answers) + 2) * reading.NOT_RUN.size \
        + spare
    each = reading.AnswerBudget(limit, len(answers) + 2)
    taken = each.takeEach(answers)
    alone = reading.AnswerBudget(limit, len(answers) + 2)
    expected = []
    for answer in answers:
        alone.begin()
        expected.append(alone.take(answer))
    assert [bytes(answer) for answer in taken] == \
        [bytes(answer) for answer in expected]
    assert (each.spent, each.pending) == (alone.spent, alone.pending)
    if spare < 1000:
        assert reading.NOT_RUN in taken

"""Requests as other ecosystems' XML-RPC clients send them, against the
real daemon; every answer must parse with a reader that knows no nil
extension (as Apache XML-RPC, Frontier, and Ruby's and aXMLRPC's defaults
read), holds no NaN or infinity, and carries dateTimes in the spec's form.

The bodies marked *captured* were recorded byte for byte from the client
named (its version given) calling a local recorder; the others are
written as the client's serializer writes them (its source was read for
the form), since the client does not run here.
"""

import datetime
import math
import xmlrpc.client

import pytest

from tests.acceptance.daemon import INVALID, Daemon, rpcAnswer

WHEN = datetime.datetime(1998, 7, 17, 14, 8, 55)

# npm xmlrpc 1.3.2: captured.
NPM_XMLRPC = (b'<?xml version="1.0"?><methodCall><methodName>add</methodName><params><param><value><string>echo</string></value></param><param><value><struct><member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>ratio</name><value><double>0.5</double></value></member><member><name>n</name><value><int>7</int></value></member><member><name>list</name><value><array><data><value><int>1</int></value><value><string>two</string></value></data></array></value></member><member><name>raw</name><value><base64>aGk=</base64></value></member></struct></value></param></params></methodCall>')  # noqa: E501

# davexmlrpc 0.4.26: captured (it sends no Content-Type).
DAVEXMLRPC = (b'<?xml version="1.0"?>\n<methodCall>\n\t<methodName>add</methodName>\n\t<params>\n\t\t<param>\n\t\t\t<value><string>echo</string></value>\n\t\t\t</param>\n\t\t<param>\n\t\t\t<value><struct>\n\t<member>\n\t\t<name>when</name>\n\t\t<value><dateTime.iso8601>1998-07-17T14:08:55.000Z</dateTime.iso8601></value>\n\t\t</member>\n\t<member>\n\t\t<name>flag</name>\n\t\t<value><boolean>true</boolean></value>\n\t\t</member>\n\t<member>\n\t\t<name>ratio</name>\n\t\t<value><double>0.5</double></value>\n\t\t</member>\n\t<member>\n\t\t<name>n</name>\n\t\t<value><i4>7</i4></value>\n\t\t</member>\n\t<member>\n\t\t<name>list</name>\n\t\t<value><array>\n\t<data>\n\t\t<value><i4>1</i4></value>\n\t\t<value><string>two</string></value>\n\t\t</data>\n\t</array>\n</value>\n\t\t</member>\n\t</struct>\n</value>\n\t\t\t</param>\n\t\t</params>\n\t</methodCall>\n')  # noqa: E501

# davexmlrpc 0.4.26 sending {ratio: NaN}: captured.
DAVEXMLRPC_NAN = (b'<?xml version="1.0"?>\n<methodCall>\n\t<methodName>add</methodName>\n\t<params>\n\t\t<param>\n\t\t\t<value><string>echo</string></value>\n\t\t\t</param>\n\t\t<param>\n\t\t\t<value><struct>\n\t<member>\n\t\t<name>ratio</name>\n\t\t<value><double>NaN</double></value>\n\t\t</member>\n\t</struct>\n</value>\n\t\t\t</param>\n\t\t</params>\n\t</methodCall>\n')  # noqa: E501

# @foxglove/xmlrpc 1.3: captured.
FOXGLOVE = (b'<?xml version="1.0"?><methodCall><methodName>add</methodName><params><param><value><string>echo</string></value></param><param><value><struct><member><name>when</name><value><dateTime.iso8601>1998-07-17T14:08:55.000Z</dateTime.iso8601></value></member><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>ratio</name><value><double>0.5</double></value></member><member><name>n</name><value><int>7</int></value></member><member><name>list</name><value><array><data><value><int>1</int></value><value><string>two</string></value></data></array></value></member></struct></value></param></params></methodCall>')  # noqa: E501

# Perl RPC::XML 1.44 (Debian librpc-xml-perl 0.82): captured. It declares
# us-ascii and sends "cafe" with an acute e as UTF-8 bytes.
RPC_XML = (b'<?xml version="1.0" encoding="us-ascii"?><methodCall><methodName>add</methodName><params><param><value><string>echo</string></value></param><param><value><struct><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member><member><name>ratio</name><value><double>0.5</double></value></member><member><name>list</name><value><array><data><value><int>1</int></value><value><string>two</string></value></data></array></value></member><member><name>text</name><value><string>caf\xc3\xa9</string></value></member><member><name>n</name><value><int>7</int></value></member></struct></value></param></params></methodCall>')  # noqa: E501

# Perl Frontier::Client (Debian libfrontier-rpc-perl): captured.
FRONTIER = (b'<?xml version="1.0"?>\n<methodCall>\n<methodName>add</methodName>\n<params>\n<param><value><string>echo</string></value></param>\n<param><value><struct>\n<member><name>ratio</name><value><double>0.5</double></value>\n</member>\n<member><name>list</name><value><array><data>\n<value><i4>1</i4></value><value><string>two</string></value></data></array></value>\n</member>\n<member><name>flag</name><value><boolean>1</boolean></value>\n</member>\n<member><name>n</name><value><i4>7</i4></value></member>\n<member><name>text</name><value><string>caf&#233;</string></value></member>\n<member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodCall>\n')  # noqa: E501

# Apache XML-RPC 3: strings as bare text in <value>, ints as <i4>.
APACHE = (b'<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>add</methodName><params><param><value>echo</value></param><param><value><struct><member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>ratio</name><value><double>0.5</double></value></member><member><name>n</name><value><i4>7</i4></value></member><member><name>list</name><value><array><data><value><i4>1</i4></value><value>two</value></data></array></value></member></struct></value></param></params></methodCall>')  # noqa: E501

# aXMLRPC: dateTime in the basic ISO 8601 form, without colons.
AXMLRPC = (b'<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>add</methodName><params><param><value><string>echo</string></value></param><param><value><struct><member><name>when</name><value><dateTime.iso8601>19980717T140855</dateTime.iso8601></value></member><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>ratio</name><value><double>0.5</double></value></member><member><name>n</name><value><i4>7</i4></value></member><member><name>list</name><value><array><data><value><i4>1</i4></value><value><string>two</string></value></data></array></value></member></struct></value></param></params></methodCall>')  # noqa: E501

# PHP's xmlrpc extension (xmlrpc_encode_request): pretty-printed,
# declared iso-8859-1, non-ASCII escaped.
PHP = (b'<?xml version="1.0" encoding="iso-8859-1"?>\n<methodCall>\n<methodName>add</methodName>\n<params>\n <param>\n  <value>\n   <string>echo</string>\n  </value>\n </param>\n <param>\n  <value>\n   <struct>\n    <member>\n     <name>when</name>\n     <value>\n      <dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>\n     </value>\n    </member>\n    <member>\n     <name>flag</name>\n     <value>\n      <boolean>1</boolean>\n     </value>\n    </member>\n    <member>\n     <name>text</name>\n     <value>\n      <string>caf&#233;</string>\n     </value>\n    </member>\n   </struct>\n  </value>\n </param>\n</params>\n</methodCall>\n')  # noqa: E501

# Ruby's xmlrpc gem: ints as <i4>.
RUBY = (b'<?xml version="1.0" ?><methodCall><methodName>add</methodName><params><param><value><string>echo</string></value></param><param><value><struct><member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member><member><name>flag</name><value><boolean>1</boolean></value></member><member><name>n</name><value><i4>7</i4></value></member></struct></value></param></params></methodCall>\n')  # noqa: E501

COMMON = {'when': WHEN, 'flag': True, 'ratio': 0.5, 'n': 7,
          'list': [1, 'two']}
CLIENTS = [
    ('npm xmlrpc', NPM_XMLRPC, 'text/xml', dict(COMMON, raw=b'hi')),
    ('davexmlrpc', DAVEXMLRPC, None, COMMON),
    ('@foxglove/xmlrpc', FOXGLOVE, 'text/xml', COMMON),
    ('RPC::XML', RPC_XML, 'text/xml', dict(COMMON, text='caf\xe9')),
    ('Frontier', FRONTIER, 'text/xml', dict(COMMON, text='caf\xe9')),
    ('Apache XML-RPC 3', APACHE, 'text/xml', COMMON),
    ('aXMLRPC', AXMLRPC, 'text/xml', COMMON),
    ('PHP xmlrpc', PHP, 'text/xml',
     {'when': WHEN, 'flag': True, 'text': 'caf\xe9'}),
    ('Ruby xmlrpc', RUBY, 'text/xml', {'when': WHEN, 'flag': True, 'n': 7}),
]


@pytest.fixture(scope='module')
def target(tmp_path_factory):
    """One daemon for the module, with the usual test tasks."""
    daemon = Daemon(str(tmp_path_factory.mktemp('clients')),
                    args=['--workers=2', '--task=nan=tests.tasks:nan']).start()
    yield daemon
    daemon.kill()


class StrictUnmarshaller(xmlrpc.client.Unmarshaller):
    """Reads answers as clients without extensions do: no <nil/>, no <i8>,
    and only finite doubles."""

    dispatch = {tag: handler for tag, handler in
                xmlrpc.client.Unmarshaller.dispatch.items()
                if tag not in ('nil', 'i8', 'biginteger', 'bigdecimal')}

    def end_double(self, data):
        value = float(data)
        if not math.isfinite(value):
            raise ValueError(f'a double {data!r} in the answer')
        self.append(value)
        self._value = 0

    dispatch['double'] = end_double


def strictRead(body):
    """The value of an answer, or its Fault; fails if a client without
    the nil extension could not read it."""
    target = StrictUnmarshaller(use_builtin_types=True)
    parser = xmlrpc.client.ExpatParser(target)
    parser.feed(body)
    parser.close()
    try:
        return target.close()[0]
    except xmlrpc.client.Fault as fault:
        return fault


def callBody(method, *params):
    """A call as the spec writes it (no nil: these clients have none)."""
    return xmlrpc.client.dumps(params, method).encode('utf-8')


@pytest.mark.parametrize('client, body, contentType, expected', CLIENTS,
                         ids=[client for client, *rest in CLIENTS])
def test_each_client_adds_and_reads_jobs(target, client, body, contentType,
                                         expected):
    """The client's add is accepted and its values stored as sent; the
    answers to add, getJob and getJobs parse without the nil extension,
    and the dateTime comes back in the spec's form."""
    jobid = strictRead(rpcAnswer(target, body, contentType=contentType))
    assert isinstance(jobid, int), jobid
    assert target.proxy().wait(jobid, 30) == 'completed'
    answer = rpcAnswer(target, callBody('getJob', jobid))
    job = strictRead(answer)
    assert job['input'] == job['output'] == expected
    assert b'<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>' in answer
    assert not {'error', 'traceback', 'schedule', 'nextRun'} & set(job)
    page = strictRead(rpcAnswer(target, callBody('getJobs',
                                                 {'limit': 1000})))
    assert jobid in [each['id'] for each in page['jobs']]
    assert 'cursor' not in page


def test_getJob_of_every_kind_of_job_parses_without_nil(target):
    """Queued, waiting, failed and cron jobs, and a page of them all:
    no answer holds <nil/>."""
    server = target.proxy()
    ids = [server.add('echo', 'x', True), server.add('fail'),
           server.addCronJob('echo', 'y', {'minute': [5]}),
           server.addCronJob('echo', 'z', {'delay': 3600})]
    assert server.wait(ids[1], 30) == 'error'
    for jobid in ids:
        answer = rpcAnswer(target, callBody('getJob', jobid))
        assert b'nil' not in answer
        assert strictRead(answer)['id'] == jobid
    page = rpcAnswer(target, callBody('getJobs', {'limit': 1000}))
    assert b'nil' not in page
    assert {job['id'] for job in strictRead(page)['jobs']} >= set(ids)


@pytest.mark.parametrize('double', [
    b'NaN', b'nan', b'Infinity', b'-Infinity', b'inf', b'-inf', b'1e999'])
def test_nan_and_infinity_are_refused(target, double):
    """A <double> holding NaN or an infinity (or one too large, which
    reads as infinity) gets fault 3 saying so; nothing is stored."""
    body = DAVEXMLRPC_NAN.replace(b'NaN', double)
    fault = strictRead(rpcAnswer(target, body, contentType=None))
    assert isinstance(fault, xmlrpc.client.Fault)
    assert fault.faultCode == INVALID
    assert 'infinity' in fault.faultString


def test_a_result_holding_nan_ends_its_job_in_error(target):
    """A task that returns NaN (or infinity) ends its job in error saying
    why, as an int over 32 bits does; the job stays readable."""
    server = target.proxy()
    jobid = server.add('nan')
    assert server.wait(jobid, 30) == 'error'
    assert 'cannot be sent over XML-RPC' in server.getError(jobid)
    assert 'NaN nor infinity' in server.getError(jobid)
    assert 'output' not in strictRead(rpcAnswer(target, callBody(
        'getJob', jobid)))


@pytest.mark.parametrize('text, expected', [
    ('19980717T14:08:55', WHEN),
    ('1998-07-17T14:08:55Z', WHEN),
    ('1998-07-17T14:08:55.000Z', WHEN),
    ('19980717T140855', WHEN),
    ('1998-07-17T14:08:55', WHEN),
    (' 19980717T14:08:55 ', WHEN),
    ('1998-07-17T16:08:55+02:00', WHEN),
    ('1998-07-17T09:08:55-0500', WHEN),
    ('1998-07-17T14:08:55.250Z', WHEN.replace(microsecond=250000)),
])
def test_dateTime_forms_clients_send(target, text, expected):
    """Each ISO 8601 form clients send is read as the moment it names, in
    UTC and naive; the answer carries it in the spec's form."""
    body = callBody('add', 'echo', WHEN).replace(
        b'19980717T14:08:55', text.encode())
    jobid = strictRead(rpcAnswer(target, body))
    assert isinstance(jobid, int), jobid
    assert target.proxy().wait(jobid, 30) == 'completed'
    assert target.proxy().getResult(jobid) == expected.replace(microsecond=0)
    assert (b'<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>'
            in rpcAnswer(target, callBody('getResult', jobid)))


@pytest.mark.parametrize('text', ['yesterday', '1998-07-17', '19980717T25:00:00',
                                  '1998-07-17T14:08:55+99:99x'])
def test_dateTimes_that_are_not_ISO_8601_are_refused(target, text):
    """A dateTime that names no moment gets fault 3."""
    body = callBody('add', 'echo', WHEN).replace(
        b'19980717T14:08:55', text.encode())
    fault = strictRead(rpcAnswer(target, body))
    assert fault.faultCode == INVALID
    assert 'not valid XML-RPC' in fault.faultString


@pytest.mark.parametrize('boolean, expected', [
    (b' 1 ', True), (b'\n0\n', False), (b'true', True), (b'false', False),
    (b'1', True)])
def test_booleans_as_clients_write_them(target, boolean, expected):
    """<boolean> 1 </boolean> is read as <int> 7 </int> always was, with
    the whitespace ignored; davexmlrpc's true and false are read too."""
    body = callBody('add', 'echo', True).replace(
        b'<boolean>1</boolean>', b'<boolean>' + boolean + b'</boolean>')
    jobid = strictRead(rpcAnswer(target, body))
    assert target.proxy().wait(jobid, 30) == 'completed'
    assert target.proxy().getResult(jobid) is expected


def test_a_bad_boolean_is_refused(target):
    """A boolean that is neither 0/1 nor true/false gets fault 3."""
    body = callBody('add', 'echo', True).replace(b'>1</boolean>',
                                                 b'>yes</boolean>')
    assert strictRead(rpcAnswer(target, body)).faultCode == INVALID


UNDECLARED = ('<methodCall><methodName>add</methodName><params><param>'
              '<value><string>echo</string></value></param><param><value>'
              '<string>caf\xe9 \xa3</string></value></param></params>'
              '</methodCall>')


@pytest.mark.parametrize('contentType, encoding', [
    ('text/xml; charset=ISO-8859-1', 'latin-1'),
    ('text/xml; charset="iso-8859-1"', 'latin-1'),
    ('text/xml;charset=windows-1252', 'cp1252'),
    ('text/xml; charset=utf-8', 'utf-8'),
    ('text/xml', 'utf-8'),
    ('text/xml; charset=UTF-16', 'utf-16'),
])
def test_the_charset_of_a_body_without_declaration(target, contentType,
                                                   encoding):
    """A body with no XML declaration is read in the charset its
    Content-Type names (UTF-8 when none)."""
    body = UNDECLARED.encode(encoding)
    jobid = strictRead(rpcAnswer(target, body, contentType=contentType))
    assert isinstance(jobid, int), jobid
    assert target.proxy().wait(jobid, 30) == 'completed'
    assert target.proxy().getResult(jobid) == 'caf\xe9 \xa3'


def test_the_declaration_wins_over_the_charset(target):
    """A body that declares its encoding is read in it, whatever the
    Content-Type says."""
    body = ('<?xml version="1.0" encoding="utf-8"?>' + UNDECLARED).encode()
    jobid = strictRead(rpcAnswer(
        target, body, contentType='text/xml; charset=ISO-8859-1'))
    assert target.proxy().wait(jobid, 30) == 'completed'
    assert target.proxy().getResult(jobid) == 'caf\xe9 \xa3'


@pytest.mark.parametrize('contentType, words', [
    ('text/xml; charset=klingon', 'unknown charset'),
    ('text/xml; charset=us-ascii', 'not us-ascii'),
])
def test_a_charset_that_does_not_fit_is_refused(target, contentType, words):
    """An unknown charset, or a body that is not in the one named, gets
    fault 3 saying so."""
    fault = strictRead(rpcAnswer(target, UNDECLARED.encode('latin-1'),
                                 contentType=contentType))
    assert fault.faultCode == INVALID
    assert words in fault.faultString

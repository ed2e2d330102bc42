"""The bounds live in one module, ``remotetask.core.bounds``: their values
agree with the facts they stand for, and no other module writes them as
numbers of its own."""

import ast
import pathlib
import re
import xmlrpc.client

from remotetask.core import bounds

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'remotetask'

#: Modules that may write such a number, and why it is another fact.
ELSEWHERE = {
    # A worker message's length prefix: a size in bytes, not a value.
    'server/workers/workerprotocol.py',
}


def writtenBounds(path):
    """The places in ``path`` that write 2 ** 31 or 2 ** 63 (give or take
    one) as a number: ``[(line, text)]``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) \
                and isinstance(node.left, ast.Constant) \
                and node.left.value == 2 \
                and isinstance(node.right, ast.Constant) \
                and node.right.value in (31, 32, 63, 64):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Constant) and type(node.value) is int \
                and abs(node.value) in (2 ** 31 - 1, 2 ** 31, 2 ** 63 - 1,
                                        2 ** 63):
            found.append((node.lineno, repr(node.value)))
    return found


def test_the_xmlrpc_int_is_the_standard_librarys():
    """MIN_INT and MAX_INT are the ints XML-RPC carries, as the stdlib's
    client (which refuses to send any other) knows them."""
    assert (bounds.MIN_INT, bounds.MAX_INT) == (
        xmlrpc.client.MININT, xmlrpc.client.MAXINT)


def test_postgresql_ids_stop_at_the_largest_job_id():
    """The PostgreSQL schema, which cannot import the bound, gives its id
    column the same largest value."""
    schema = (PACKAGE / 'store' / 'postgresql.sql').read_text()
    assert re.findall(r'MAXVALUE (\d+)', schema) == [str(bounds.MAX_JOB_ID)]


def test_no_module_writes_a_bound_of_its_own():
    """Outside core/bounds.py (and modules where such a number is another
    fact), no module writes the 32- or 64-bit bounds as numbers."""
    written = {str(path.relative_to(PACKAGE)): writtenBounds(path)
               for path in sorted(PACKAGE.rglob('*.py'))}
    assert written['core/bounds.py']
    bad = {path: found for path, found in written.items()
           if found and path != 'core/bounds.py' and path not in ELSEWHERE}
    assert bad == {}


def test_the_check_sees_a_written_bound(tmp_path):
    """The scan finds each form a bound was written in, so the test above
    cannot pass by looking at nothing."""
    module = tmp_path / 'sample.py'
    module.write_text('a = 2 ** 31\nb = -2 ** 63 <= x\nc = 2147483647\n')
    assert sorted(line for line, _ in writtenBounds(module)) == [1, 2, 3]

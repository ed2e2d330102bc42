"""The docs harness's reading of a page (tests/acceptance/docblocks.py):
what counts as a block, which kind, and when shown output matches."""

import pytest

from tests.acceptance.docblocks import (
    blocks, consoleSteps, inOrder, matches)

PAGE = '''# A page

```console
$ remotetask add echo --input 1 \\
    --wait
job 1 added; waiting
    0.3 s  completed
1
^C
```

<!-- file: mytasks.py -->
```python
def f(input):
    return input
```

```python
>>> 1 + 1
2
```

<!-- not run: it needs systemd -->
```sh
systemctl start remotetask
```

```ini
[forgotten]
```
'''


def test_each_block_has_its_kind_and_an_unmarked_one_is_found():
    """Console blocks, doctests, files and not-run blocks are told apart by
    their language and the directive before them; an ini block without a
    directive is 'unmarked', which fails its page."""
    found = blocks(PAGE)
    assert [block.kind for block in found] == [
        'console', 'file', 'doctest', 'skip', 'unmarked']
    assert found[1].directive == ('file', 'mytasks.py')
    assert found[3].directive == ('not run', 'it needs systemd')
    assert found[0].line == 3


def test_console_steps_join_continued_lines_and_keep_ctrl_c():
    """A backslash continues a command on the next line; the lines after
    a command are its output; ^C is a step of its own."""
    steps = consoleSteps(blocks(PAGE)[0])
    assert [step.command for step in steps] == [
        'remotetask add echo --input 1 --wait', '^C']
    assert steps[0].expected == ['job 1 added; waiting',
                                 '    0.3 s  completed', '1']


def test_a_directive_without_a_reason_and_an_open_block_are_refused():
    """"<!-- not run: -->" with no reason, and a block never closed, are
    mistakes of the page, said as such."""
    with pytest.raises(ValueError, match='names no file or reason'):
        blocks('<!-- not run: -->\n```sh\nx\n```\n')
    with pytest.raises(ValueError, match='never closed'):
        blocks('```console\n$ remotetask tasks\n')


def test_output_matches_with_times_alike_and_ellipses_but_not_otherwise():
    """Clock readings and '...' match anything of their kind; a different
    word, a missing line or an extra line does not match."""
    shown = ['job 1 added; waiting', '    1.2 s  queued',
             '    1.7 s  completed', '1   echo  completed  '
             '2026-12-06 14:00:00 UTC']
    expected = ['job 1 added; waiting', '    0.0 s  completed',
                '1   echo  completed  2026-11-29 22:24:07 UTC']
    assert matches(expected, shown)
    assert matches(['job ... added; waiting', '...', '1 ...'], shown)
    assert not matches(expected[:2], shown)
    assert not matches(expected + ['more'], shown)
    assert not matches(['job 2 added; waiting'] + expected[1:], shown)


def test_log_lines_are_found_in_order_among_others():
    """A server's shown lines must appear in its log in that order, other
    lines between them; out of order, or absent, they do not."""
    log = ['... starting', '... store: SQLite', '... tasks: echo',
           '... listening on 127.0.0.1:8770']
    assert inOrder(['... store: ...', '... listening on ...'], log)
    assert not inOrder(['... listening on ...', '... store: ...'], log)
    assert not inOrder(['... tasks: sleep'], log)

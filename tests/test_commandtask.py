"""Command tasks never take a job's value as an option (issue 14, 7):
the real programs (``sort``, ``ls``, ``printf``) run in a temp dir."""

import pytest

from remotetask.core.commandtask import CommandTask
from remotetask.core.task import TaskError


def run(argv, input):
    return CommandTask(argv)(None, 1, input)


def test_a_value_that_would_be_an_option_is_refused(tmp_path, monkeypatch):
    """``sort {file}`` with ``-oOWNED`` (which made sort write a file
    named OWNED) and ``ls {path}`` with ``--version`` are refused before
    the program runs, naming the field; no file is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'in.txt').write_text('b\na\n')
    with pytest.raises(TaskError) as refused:
        run(['sort', '{file}'], {'file': '-oOWNED'})
    assert 'file' in str(refused.value) and 'option' in str(refused.value)
    assert not (tmp_path / 'OWNED').exists()
    with pytest.raises(TaskError):
        run(['ls', '{path}'], {'path': '--version'})
    with pytest.raises(TaskError):
        run(['printf', '%s', '{a}{b}'], {'a': '', 'b': '-x'})
    with pytest.raises(TaskError):
        run(['printf', '%s', '{n}'], {'n': -5})
    assert run(['sort', '{file}'], {'file': 'in.txt'})['stdout'] == 'a\nb\n'


def test_the_template_can_let_a_dash_through(tmp_path, monkeypatch):
    """``{-name}`` marks a field whose value may start with a dash; after
    a ``--`` word every field may; a field after text of its own
    (``--name={x}``) cannot start its word and is not restricted."""
    monkeypatch.chdir(tmp_path)
    assert run(['printf', '%s|', '{-n}'], {'n': -5})['stdout'] == '-5|'
    (tmp_path / '-oOWNED').write_text('z\ny\n')
    assert run(['sort', '--', '{file}'], {'file': '-oOWNED'}
               )['stdout'] == 'y\nz\n'
    assert not (tmp_path / 'OWNED').exists()
    assert run(['printf', '%s|', 'x={v}', '-{v}'], {'v': '-v'}
               )['stdout'] == 'x=-v|--v|'


def test_the_marker_is_a_plain_field_or_nothing():
    """``{-name}`` takes the input's ``name``; other syntax is still
    refused when the file is read."""
    task = CommandTask(['echo', '{-n}', '{m}'])
    assert task.fields == {'n', 'm'}
    for word in ('{-}', '{--n}', '{-n!r}', '{-n:>3}', '{-n.x}'):
        with pytest.raises(ValueError):
            CommandTask(['echo', word])


def test_a_name_field_takes_a_file_name_never_a_path(tmp_path, monkeypatch):
    """``{file:name}`` refuses a value holding ``/`` or being ``.`` or
    ``..`` (``../../../etc/passwd`` read /etc/passwd through a plain
    field), naming the field; a plain name runs; a plain field still
    takes a path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'in.txt').write_text('inside\n')
    (tmp_path / 'secret').write_text('outside\n')
    argv = ['cat', 'data/{file:name}']
    for value in ('../secret', '/etc/passwd', '..', '.', 'a/b', ''):
        with pytest.raises(TaskError, match='file .* must be a file name'):
            run(argv, {'file': value})
    assert run(argv, {'file': 'in.txt'})['stdout'] == 'inside\n'
    assert run(['cat', 'data/{file}'], {'file': '../secret'}
               )['stdout'] == 'outside\n'
    assert CommandTask(['cat', '{-n:name}']).fields == {'n'}
    with pytest.raises(ValueError):
        CommandTask(['cat', '{n:path}'])

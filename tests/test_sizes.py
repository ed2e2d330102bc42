"""The house rule on sizes, checked on the source: no module of
remotetask over 400 lines, no function over 60 (issue 19). A module or a
function past them is doing two jobs; split it by role."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'remotetask'
MOST_LINES, MOST_FUNCTION_LINES = 400, 60

def oversized(root):
    """``(modules, functions)``: the modules of ``root`` over MOST_LINES
    lines, ``{path: lines}``, and its functions over MOST_FUNCTION_LINES,
    ``{path:name: lines}``."""
    modules, functions = {}, {}
    for path in sorted(root.rglob('*.py')):
        name = str(path.relative_to(root))
        text = path.read_text(encoding='utf-8')
        if len(text.splitlines()) > MOST_LINES:
            modules[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MOST_FUNCTION_LINES:
                    functions[f'{name}:{node.name}'] = length
    return modules, functions


def test_no_module_is_over_400_lines_nor_a_function_over_60():
    """Every module of remotetask is at most 400 lines and every function
    at most 60."""
    modules, functions = oversized(PACKAGE)
    assert modules == {}
    assert functions == {}


def test_the_check_sees_a_long_module_and_a_long_function(tmp_path):
    """The check counts a long module and a long method, so the test
    above cannot pass by looking at nothing."""
    lines = (['class C:', '    def method(self):']
             + [f'        x{n} = {n}' for n in range(61)]
             + ['# more'] * 400)
    (tmp_path / 'long.py').write_text('\n'.join(lines) + '\n')
    modules, functions = oversized(tmp_path)
    assert modules == {'long.py': 463}
    assert functions == {'long.py:method': 62}

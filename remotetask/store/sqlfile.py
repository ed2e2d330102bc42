"""Named queries kept in .sql files beside the stores.

A file is a series of sections, each opened by a comment line
``-- name: NAME``; the comment lines after it say what the query is for.
Sections named ``migration_NNNN`` are the numbered schema migrations, in
order. Python only ever picks a query by name and passes parameters, so
no SQL is ever assembled from strings.
"""

import re
from importlib.resources import files

_HEADER = re.compile(r'^--\s*name:\s*(\w+)\s*$', re.MULTILINE)


def loadQueries(filename):
    """Return ``{name: sql}`` for the sections of ``filename`` (a file in
    this package)."""
    text = files(__package__).joinpath(filename).read_text('utf-8')
    parts = _HEADER.split(text)
    queries = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f'{filename}: query {name!r} is defined twice')
        queries[name] = body.strip()
    return queries


def migrations(queries):
    """The migrations among ``queries`` as ``[(number, sql)]``, in order."""
    found = sorted((int(name.split('_')[1]), sql)
                   for name, sql in queries.items()
                   if name.startswith('migration_'))
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f'migrations are not numbered 1..N: {numbers}')
    return found

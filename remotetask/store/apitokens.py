"""API tokens kept beside the jobs (issue 22), for every store.

A token is kept as its SHA-256 (``digest``, hex), never as itself: a
token is 256 random bits, so a fast hash is as safe to keep as a slow
one (nobody can try 2**256 guesses), and checking one costs a
microsecond rather than scrypt's 50 ms. Kept in the job store, so that
every server sharing a PostgreSQL store knows a token, or its
revocation, on its next look (``remotetask.wire.tokens``).

``SQLApiTokens`` serves both stores: it is given the store's way to
read and its way to write (each a function of a query's name and its
parameters, giving the rows), the queries being named alike in
``sqlite.sql`` and ``postgresql.sql``.
"""

import json

from zope.interface import implementer

from remotetask.core.interfaces import IApiTokenStore


def _decoded(row):
    found = dict(row)
    found['tasks'] = json.loads(found['tasks'])
    return found


@implementer(IApiTokenStore)
class SQLApiTokens:
    """The tokens of a SQL store; ``read`` and ``write`` are the store's
    (``read(name, **params)`` gives the rows of the query ``name``)."""

    def __init__(self, read, write):
        self.read = read
        self.write = write

    def add(self, name, digest, role, tasks, now, expires=None):
        return bool(self.write(
            'insert_api_token', name=name, digest=digest, role=role,
            tasks=json.dumps(tasks), now=now, expires=expires))

    def find(self, digest):
        rows = self.read('find_api_token', digest=digest)
        return _decoded(rows[0]) if rows else None

    def list(self):
        return [_decoded(row) for row in self.read('list_api_tokens')]

    def revoke(self, name):
        return bool(self.write('revoke_api_token', name=name))

    def touch(self, digest, now):
        self.write('touch_api_token', digest=digest, now=now)

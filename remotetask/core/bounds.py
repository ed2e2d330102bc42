"""The bounds every layer keeps, each named once with why it is what it is.

A bound written as a number in two places is two facts that may drift
apart (a job id once had three largest values); here it is one name that
the command line, the wire, the JSON view and the stores import. The core
is the one package every layer may import, and this module imports
nothing, so that it can never be part of a cycle.

Where two bounds look alike and differ, they differ on purpose, and both
are here: a job id fits XML-RPC's 32-bit int while a store can compare
with any 64-bit int; a page is 1000 jobs to a program over XML-RPC and
200 to a browser.
"""

#: The whole numbers XML-RPC carries: its ``<int>`` is a signed 32-bit
#: integer (``xmlrpc.client.MININT`` and ``MAXINT``). A number outside
#: could not be sent back to a client, so inputs and ids stay inside.
#: PostgreSQL's ``integer``, the type of its id column, has the same range.
MIN_INT, MAX_INT = -2 ** 31, 2 ** 31 - 1

#: Job ids are ints from 1 to MAX_JOB_ID, so that every id travels as an
#: XML-RPC int; PostgreSQL's id column stops there too (``MAXVALUE
#: 2147483647`` in store/postgresql.sql, which cannot import this).
MAX_JOB_ID = MAX_INT

#: A ``before`` past every job id: the cursor of the first page of the
#: newest jobs.
BEFORE_EVERY_ID = MAX_JOB_ID + 1

#: The ints a store's query may be given: SQLite's INTEGER (and
#: PostgreSQL's bigint) is a signed 64-bit integer, and past it the driver
#: raises OverflowError instead of finding nothing. An id a client sends
#: beyond MAX_JOB_ID but within this range is simply not found; beyond it,
#: it is refused before it reaches a store.
MIN_STORED_INT, MAX_STORED_INT = -2 ** 63, 2 ** 63 - 1

#: The most jobs one ``getJobs`` answers over XML-RPC (and so the most
#: ``remotetask jobs`` asks for at once): a program reading every job
#: pages through them in few calls, each answer still a few MB at most
#: (``--max-page-size`` cuts it further by bytes).
MAX_PAGE = 1000

#: The most jobs one page of the JSON view (``GET /api/jobs``) holds: the
#: dashboard draws every row of a page in a browser, where 200 rows stay
#: quick to draw and to read; programs page over XML-RPC, by MAX_PAGE.
MAX_VIEW_PAGE = 200

#: The longest ``wait(id, timeout)`` over XML-RPC, in seconds: a waiting
#: call holds a connection and a place among ``--max-waiters``, and a
#: proxy in front may cut a request idle longer (nginx's
#: ``proxy_read_timeout`` is 60 s by default); a client waiting longer
#: calls again.
MAX_WAIT = 60

#: The longest crontab accepted, in characters: every field written out
#: as a list (all 60 minutes, 24 hours, ...) takes under 400, and every
#: read of the job parses it again (4 MB took 4.7 s each).
MAX_CRONTAB = 512

"""The keyset page rule of ``IJobStore.newest``, shared by every store.

A page looks at up to ``scan`` candidates below the cursor (through an
index) and keeps up to ``limit`` of those that match the other filters.
Where the next page starts follows from what was found and how far the
look went; it is written once here so that the stores cannot disagree.
"""

#: The longest preview of an input or error in a page's rows.
PREVIEW = 200

#: The keys of a page's rows.
PAGE_KEYS = ('id', 'task', 'status', 'created', 'started', 'completed',
             'due', 'attempts', 'missed', 'progress', 'input', 'error')


def nextCursor(jobs, limit, floor, scanned, scan):
    """The ``before`` of the next page, or None when there is none.

    ``jobs`` are the matches kept, newest first; ``floor`` is the lowest
    id looked at and ``scanned`` how many were. A full page continues
    below its last job (matches may remain between it and the floor); a
    short page whose look was cut off at ``scan`` continues below the
    floor; otherwise the look reached the oldest job and nothing is left.
    """
    if len(jobs) >= limit:
        return jobs[-1]['id']
    if scanned >= scan and floor is not None:
        return floor
    return None


def fromBoundedRows(rows, limit, scan):
    """``(jobs, cursor)`` from the rows of a ``newest_jobs*`` query: each
    carries ``floor`` and ``scanned`` of the look, and a look that matched
    nothing yields one row with those alone (its id is NULL)."""
    floor = rows[0]['floor'] if rows else None
    scanned = rows[0]['scanned'] if rows else 0
    jobs = [{key: row[key] for key in PAGE_KEYS}
            for row in rows if row['id'] is not None]
    return jobs, nextCursor(jobs, limit, floor, scanned, scan)


def scanFor(status, task, text, limit, scan, owner=None):
    """How many candidates a page looks at: exactly ``limit`` when the
    index serves every filter given (each candidate then matches), else
    ``scan`` (never fewer than ``limit``). The index of an ``owner``'s
    jobs serves no other filter."""
    if owner is not None:
        residual = status is not None or task is not None or \
            text is not None
    else:
        residual = text is not None or (status is not None and
                                        task is not None)
    return max(scan, limit) if residual else limit


def throughIndex(kind, status, task, owner):
    """The name of the ``kind`` query (``find`` or ``newest``) that
    serves the filters given through an index: an owner's jobs through
    theirs, else a status's, else a task's, else the primary key's. Every
    one of them takes the same parameters, and looks at the filters its
    index does not serve row by row."""
    if owner is not None:
        return f'{kind}_owned_jobs'
    if status is not None:
        return f'{kind}_jobs_by_status'
    if task is not None:
        return f'{kind}_jobs_by_task'
    return f'{kind}_jobs'

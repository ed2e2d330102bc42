"""The spool of request bodies: bounded in files and bytes, both given
back when a body's file is closed."""

import io

import pytest

from remotetask.wire.spool import IN_MEMORY, Spool, SpoolFull


def test_small_bodies_stay_in_memory_and_large_ones_count():
    """A body announced under 100 KB is kept in memory and counts for
    nothing; a larger one, or one of unknown length, takes a file."""
    spool = Spool(maxBytes=1000, maxFiles=2)
    assert isinstance(spool.contentFile(IN_MEMORY - 1), io.BytesIO)
    assert spool.files == 0
    body = spool.contentFile(None)
    assert spool.files == 1
    body.write(b'x' * 10)
    body.seek(0)
    assert body.read() == b'x' * 10
    body.close()
    body.close()
    assert (spool.files, spool.bytes) == (0, 0)


def test_files_past_the_count_are_refused_until_one_closes():
    """``maxFiles`` files at once; the next is SpoolFull, and taken
    once one of them closes."""
    spool = Spool(maxBytes=1000, maxFiles=2)
    first, _ = spool.contentFile(None), spool.contentFile(None)
    with pytest.raises(SpoolFull, match='2 request bodies'):
        spool.contentFile(None)
    first.close()
    spool.contentFile(None)


def test_bytes_past_the_bound_are_refused_until_some_are_given_back():
    """Writes fill the spool up to ``maxBytes`` exactly; one byte more
    is SpoolFull naming --max-spool-size, and fits once another body's
    file is closed."""
    spool = Spool(maxBytes=1000, maxFiles=4)
    one, two = spool.contentFile(None), spool.contentFile(None)
    one.write(b'x' * 600)
    two.write(b'y' * 400)
    with pytest.raises(SpoolFull, match='--max-spool-size'):
        two.write(b'z')
    one.close()
    two.write(b'z')
    assert spool.bytes == 401

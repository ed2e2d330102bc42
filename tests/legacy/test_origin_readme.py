"""The README of lovely.remotetask, the project this one began from, runs
unchanged but for Python 3 spelling, import names and job ids."""

import doctest
import pathlib

import pytest
import zope.component

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture
def cleanZope(monkeypatch):
    """zope.component's global registry emptied after the test, and the
    process in UTC, the zone the original read cron fields in."""
    monkeypatch.setenv('TZ', 'UTC')
    yield
    zope.component.getGlobalSiteManager().__init__('base')


def test_the_origin_readme_passes_every_example(cleanZope):
    """Every example of tests/legacy/README.txt passes against the
    installed package; the failures, if any, are shown in full."""
    failures, examples = doctest.testfile(
        str(HERE / 'README.txt'), module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False, verbose=False, report=True)
    assert examples >= 100
    assert failures == 0

"""Fixtures for the acceptance tests: real daemons in temp dirs."""

import pytest

from tests.acceptance.daemon import Daemons


@pytest.fixture
def startDaemon(tmp_path):
    """Start daemons (killed after the test) with extra arguments, as
    ``Daemons.start`` takes them."""
    daemons = Daemons(tmp_path)
    yield daemons.start
    daemons.killAll()


@pytest.fixture(scope='module')
def sharedDaemon(tmp_path_factory):
    """The daemon of the module's tests marked ``shared``, started once."""
    daemons = Daemons(tmp_path_factory.mktemp('shared'))
    yield daemons.start('--workers=2')
    daemons.killAll()


@pytest.fixture
def daemon(request, startDaemon):
    """One daemon with the test tasks, on SQLite, two worker processes.

    A test marked ``shared`` gets one daemon with the other such tests of
    its module, started once: for tests that cannot disturb one another
    (refusals that store nothing, reads of what never changes). A test
    whose outcome depends on what others left gets a daemon of its own."""
    if request.node.get_closest_marker('shared'):
        return request.getfixturevalue('sharedDaemon')
    return startDaemon('--workers=2')


@pytest.fixture
def server(daemon):
    """An xmlrpc.client proxy of that daemon."""
    return daemon.proxy()

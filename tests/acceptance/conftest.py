"""Fixtures for the acceptance tests: real daemons in temp dirs."""

import pytest

from tests.acceptance.daemon import Daemon


@pytest.fixture
def startDaemon(tmp_path):
    """Start daemons (stopped after the test) with extra arguments."""
    daemons = []

    def start(*args, directory=None, **kwargs):
        daemon = Daemon(str(directory or tmp_path), args=args, **kwargs)
        daemons.append(daemon)
        return daemon.start()
    yield start
    for daemon in daemons:
        daemon.kill()


@pytest.fixture
def daemon(startDaemon):
    """One daemon with the test tasks, on SQLite, two worker processes."""
    return startDaemon('--workers=2')


@pytest.fixture
def server(daemon):
    """An xmlrpc.client proxy of that daemon."""
    return daemon.proxy()

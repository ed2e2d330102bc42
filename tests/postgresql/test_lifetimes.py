"""Issue 20, items 1 and 2 on PostgreSQL, where the issue saw 94 jobs run
again by orphaned workers: kill -9 of the daemon leaves no worker and no
program, and no job runs twice at once."""

from tests.acceptance.daemon import Daemons, storeURL
from tests.acceptance.lifetimes import killNineLeavesNothing


def test_kill_9_on_postgresql_leaves_no_worker_nor_program(
        postgresqlDsn, tmp_path):
    """As ``test_kill_9_of_the_daemon_leaves_no_worker_nor_program``,
    with the store on PostgreSQL (the restarted server finds the killed
    one's jobs after its heartbeat timeout, 2 s here)."""
    daemons = Daemons(tmp_path, store=storeURL(postgresqlDsn))
    try:
        killNineLeavesNothing(daemons.start, tmp_path,
                              '--heartbeat-timeout=2')
    finally:
        daemons.killAll()

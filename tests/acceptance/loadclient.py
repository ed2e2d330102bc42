"""One client process of the load test (``test_load.py``), run as
``python -m tests.acceptance.loadclient URL NAME COUNT RECORDFILE OUT``:
a separate interpreter, so that many of them add at once."""

import json
import sys
import xmlrpc.client


def addJobs(url, client, count, recordFile, out):
    """One client process: add ``count`` jobs, cycling through the four
    tasks; write ``[[id, task, input]]`` in the order added to ``out``."""
    server = xmlrpc.client.ServerProxy(url, allow_none=True)
    added = []
    for i in range(int(count)):
        task, input = [
            ('echo', {'client': client, 'i': i}),
            ('fail', None),
            ('crash', i),
            ('record', {'path': recordFile, 'line': f'{client}-{i}'}),
        ][i % 4]
        added.append((server.add(task, input), task, input))
    with open(out, 'w') as file:
        json.dump(added, file)


if __name__ == '__main__':
    addJobs(*sys.argv[1:])

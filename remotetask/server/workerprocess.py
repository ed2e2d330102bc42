"""The worker process: runs one job at a time for the process pool.

Started by ``remotetask.server.workerpool`` as ``python -m remotetask.server.workerprocess
CONFIG``. It reads requests from stdin and writes outcomes to stdout, each a
JSON object behind a 4-byte big-endian length. It needs no reactor: it does
one thing at a time, and a task that crashes, hangs or leaks takes only
this process with it, which the pool replaces.
"""

import json
import os
import struct
import sys
import threading
import time

from remotetask.core import codec
from remotetask.errors import NoSuchTask
from remotetask.core.registry import TaskRegistry
from remotetask.core.runner import Outcome, runTask

HEADER = struct.Struct('>I')


def readFrame(stream):
    """The next message from ``stream``, or None at its end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    size, = HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return json.loads(payload)


def frame(message):
    """``message`` as bytes for the other side of the pipe."""
    payload = json.dumps(message, separators=(',', ':')).encode('utf-8')
    return HEADER.pack(len(payload)) + payload


def _watchParent(parent):
    """Exit when the server that started us is gone (kill -9 included),
    so that no orphan keeps running a job the next server will re-run."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(70)


def serve(registry, requests, responses):
    while (request := readFrame(requests)) is not None:
        try:
            task = registry.lookup(request['task'])
        except NoSuchTask as error:
            outcome = Outcome.failed(str(error))
        else:
            outcome = runTask(task, None, request['id'],
                              codec.decode(request['input']))
        responses.write(frame(outcome._asdict()))
        responses.flush()


def main(argv):
    # Our own process group: a Ctrl-C meant for the server does not kill
    # jobs behind its back, and the pool can stop a task's children too.
    os.setpgrp()
    # The protocol owns the real stdout; a task's print() goes to stderr,
    # which the server logs.
    responses = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    config = json.loads(argv[1])
    threading.Thread(target=_watchParent, args=(config['parent'],),
                     daemon=True).start()
    serve(TaskRegistry.fromConfig(config['registry']), sys.stdin.buffer,
          responses)


if __name__ == '__main__':
    main(sys.argv)

"""What a caller of remotetask runs to be told that its jobs ended: a
stdlib XML-RPC server with a ``jobEnded(id, status)`` method, in a thread
of the test. It can start down (its port taken but not listening, so
that calls are refused) and come up later."""

import threading
import xmlrpc.server


class Receiver:
    """Records every ``jobEnded`` call in ``calls``."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()
        self.server = xmlrpc.server.SimpleXMLRPCServer(
            ('127.0.0.1', 0), bind_and_activate=False, logRequests=False)
        self.server.server_bind()
        self.server.register_function(self.jobEnded, 'jobEnded')
        self.thread = None

    def jobEnded(self, jobid, status):
        with self.lock:
            self.calls.append((jobid, status))
        return True

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server.server_address[1]}/'

    def up(self):
        """Start answering (until now, connections were refused)."""
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def close(self):
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()

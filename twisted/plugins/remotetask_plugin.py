from twisted.application.service import ServiceMaker

remotetask = ServiceMaker(
    'remotetask',
    'remotetask.server.daemon.tap',
    'A server that runs pre-defined tasks for other servers (XML-RPC).',
    'remotetask',
)

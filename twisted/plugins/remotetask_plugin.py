from twisted.application.service import ServiceMaker

remotetask = ServiceMaker(
    'remotetask',
    'remotetask.server.tap',
    'A server that runs pre-defined tasks for other servers (XML-RPC).',
    'remotetask',
)

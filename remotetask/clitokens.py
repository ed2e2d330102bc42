"""``remotetask token create|list|revoke``: API tokens, managed by an
admin over XML-RPC (``token.*``, ``remotetask.wire.tokenmethods``).

``token create`` prints the token alone on stdout, once: the server
keeps only its hash.
"""

import argparse
import sys

from remotetask.clisupport import localTime
from remotetask.server.cluster.retention import parseAge


def expiresIn(text):
    """``--expires``: an age (``90d``, ``12h``, ``3600``) in seconds."""
    try:
        seconds = parseAge(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds is None or seconds <= 0:
        raise argparse.ArgumentTypeError(
            'give how long the token lasts, e.g. 90d (leave --expires out '
            'for a token that never expires)')
    return seconds


def taskList(text):
    return [task.strip() for task in text.split(',') if task.strip()]


def cmdTokenCreate(server, args):
    made = server.token.create(args.name, args.role, args.tasks or [],
                               args.expires or 0)
    print(made['token'])
    expires = localTime(made.get('expires')) or 'never'
    print(f'token {made["name"]} ({made["role"]}'
          f'{": " + ", ".join(made["tasks"]) if made.get("tasks") else ""}'
          f'; expires {expires}) is shown this once: keep it now',
          file=sys.stderr)


def cmdTokenList(server, args):
    tokens = server.token.list()
    if not tokens:
        print('no tokens', file=sys.stderr)
        return
    rows = [('NAME', 'ROLE', 'TASKS', 'EXPIRES', 'LAST USED')]
    rows += [(token['name'], token['role'], ','.join(token.get('tasks', [])),
              localTime(token.get('expires')) or 'never',
              localTime(token.get('lastUsed')) or 'never')
             for token in tokens]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in
                        zip(row, widths)).rstrip())


def cmdTokenRevoke(server, args):
    server.token.revoke(args.name)
    print(f'token {args.name} revoked', file=sys.stderr)


def addTokenCommands(command):
    """The ``token`` command group, through ``command(name, function,
    help)`` (``cliparser.makeParser``'s)."""
    group = command('token', None, 'make, list and revoke API tokens (an '
                    'admin of a server with --users)')
    commands = group.add_subparsers(dest='tokenCommand', metavar='ACTION',
                                    required=True,
                                    help='create, list or revoke')
    sub = commands.add_parser(
        'create', help='make a token and print it, once')
    sub.set_defaults(function=cmdTokenCreate)
    sub.add_argument('name', help='its name: the user name it acts as')
    sub.add_argument('--role', required=True,
                     choices=('admin', 'caller', 'viewer'),
                     help='what it may do (see docs/permissions.md)')
    sub.add_argument('--tasks', type=taskList, metavar='TASK,TASK',
                     help="a caller's tasks, comma-separated (* for all)")
    sub.add_argument('--expires', type=expiresIn, metavar='AGE',
                     help='it expires after this long (e.g. 90d, 12h); '
                          'default: never')
    commands.add_parser('list', help='list the tokens and their last use'
                        ).set_defaults(function=cmdTokenList)
    sub = commands.add_parser('revoke', help='revoke a token, on every '
                              'server sharing the store')
    sub.set_defaults(function=cmdTokenRevoke)
    sub.add_argument('name', help='the name of the token')

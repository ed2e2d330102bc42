"""Reading profiles of the daemon into text, for bench/profile.

py-spy's speedscope files become per-thread seconds and the top functions
by own and by total time per role (the server's threads, the worker
processes), and folded stacks for flame graph tools; twistd's cProfile
stats become pstats' top lists.
"""

import collections
import io
import json
import pstats

from adapter import here
from tables import table


def readSpeedscope(path, serverPids):
    """(role, thread) -> Counter of stacks (tuples of frame labels, root
    first) -> seconds, from a py-spy speedscope file."""
    data = json.loads(path.read_text())
    frames = [frameLabel(frame) for frame in data['shared']['frames']]
    stacks = collections.defaultdict(collections.Counter)
    for profile in data['profiles']:
        # py-spy names each: 'Process 123 Thread 456 "MainThread"'.
        words = profile['name'].split(' ', 4)
        pid = int(words[1]) if words[0] == 'Process' else None
        thread = words[4].strip('"') if len(words) > 4 else profile['name']
        role = 'server' if pid in serverPids else 'workers'
        where = (role, thread if role == 'server' else thread.split(' (')[0])
        for sample, weight in zip(profile['samples'], profile['weights']):
            stack = tuple(frames[i] for i in sample)
            # --subprocesses puts frames naming the process (and its
            # parents) at the root.
            while stack and stack[0].startswith('process '):
                stack = stack[1:]
            stacks[where][stack] += weight
    return stacks


def frameLabel(frame):
    name = frame['name']
    if name.startswith('process '):
        return name
    return f'{name} ({shortPath(frame.get("file") or "?")}:' \
           f'{frame.get("line") or "?"})'


def shortPath(path):
    """The path from the package on: remotetask/..., twisted/..."""
    for marker in ('/site-packages/', '/lib/python3.11/'):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.removeprefix(str(here.parent) + '/')


def summariseStacks(stacks, top):
    """Text: seconds per thread, then per role the top functions by own
    time (the leaf of the stack) and by total time (anywhere on it)."""
    out = []
    threads = sorted(((where, sum(c.values())) for where, c in
                      stacks.items()), key=lambda item: (item[0][0],
                                                         -item[1]))
    out.append(table([[role, thread, f'{seconds:.2f}']
                      for (role, thread), seconds in threads],
                     ['role', 'thread', 'sampled s'], left=2))
    for role in ('server', 'workers'):
        own, total = collections.Counter(), collections.Counter()
        trunk = set()
        for (where, counter) in stacks.items():
            if where[0] != role:
                continue
            trunk.update(trunkOf(counter))
            for stack, seconds in counter.items():
                if stack:
                    own[stack[-1]] += seconds
                for label in set(stack):
                    total[label] += seconds
        whole = sum(own.values())
        if not whole:
            continue
        for label in trunk:
            total.pop(label, None)
        for title, counter in (('own time', own),
                               ('total time, trunk left out', total)):
            out.append(f'\n{role}: top {top} functions by {title} '
                       f'(% of the {whole:.2f} s sampled)\n')
            out.append(table(
                [[label, f'{seconds:.2f}', f'{seconds / whole:.0%}']
                 for label, seconds in counter.most_common(top)],
                ['function (file:first line)', 's', '%']))
    return '\n'.join(out)


def trunkOf(counter, share=0.9):
    """The root frames that (nearly) every stack of one thread starts
    with (twistd's runApp down to the reactor's mainLoop, a pool thread's
    loop): the same on every profile, so left out of "total time"."""
    whole = sum(counter.values())
    prefix = ()
    while True:
        below = collections.Counter()
        for stack, seconds in counter.items():
            if len(stack) > len(prefix) and stack[:len(prefix)] == prefix:
                below[stack[len(prefix)]] += seconds
        if not below:
            return prefix
        label, seconds = below.most_common(1)[0]
        if seconds < share * whole:
            return prefix
        prefix += (label,)


def writeFolded(stacks, path):
    """Folded stacks (flamegraph.pl, inferno, speedscope read them): one
    line per stack, 'thread;frame;frame count', counted in milliseconds."""
    with open(path, 'w') as out:
        for (role, thread), counter in sorted(stacks.items()):
            for stack, seconds in counter.items():
                line = ';'.join((f'{role}: {thread}',) + stack)
                out.write(f'{line} {round(seconds * 1000)}\n')


def summarisePstats(path, top):
    text = io.StringIO()
    stats = pstats.Stats(str(path), stream=text)
    stats.strip_dirs()
    for order in ('tottime', 'cumulative'):
        text.write(f'\n--- sorted by {order} ---\n')
        stats.sort_stats(order).print_stats(top)
    return text.getvalue()

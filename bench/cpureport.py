"""bench/cpu's table: server CPU per job, the echo's per call, the goals.

A run is a dict (checkout, key) -> (ms/job, daemon's part, workers' part,
the echo's ms/call just before, the completion check's ms/job), checkout
'this' or 'versus' (cpubench.measureOnce).  Every figure shown is a
median over the repeats.
"""

import statistics

from tables import table

# (key, label, goal): one row of the table each, divided by the echo's
# figure of the same kind (single calls, or calls in multicalls).
rows = [
    ('single', '{n:,} adds, one per call, until all completed', 2.0),
    ('quiet', 'the same with --log-jobs none', None),
    ('batched', '{batchedN:,} adds in multicalls of {batch}, until all '
     'completed', 3.0),
]

note = '''\
ms/job: utime+stime of the daemon and its worker processes over the burst
(first add to last completed job seen), divided by the jobs, less what
the bench's own check that every job completed cost them ("check":
getStatus of each job in multicalls, which the echo is not asked; made
again alone after the burst, measured, shown and not counted); "daemon"
is the twistd process's own share (all its threads), "workers" the
worker processes'.  echo ms/call: the bare Twisted XML-RPC server's CPU per call,
one call at a time (for the single rows) or inside multicalls of the same
size (for the batched row), in a burst of as many calls right before the
row's.  ratio: of the medians; runs: the range of the per-repeat ratios;
each column is a median of its own, so daemon and workers need not add
up to the total exactly.  Goals: issue 18's "Done when".'''


def report(arguments, runs):
    """The table, and with --versus the two checkouts' quotients."""
    who = ['this'] + (['versus'] if arguments.versus else [])
    lines = []
    for key, label, goal in rows:
        for checkout in who:
            title = label.format(**vars(arguments)) if checkout == 'this' \
                else f'  the same, {arguments.versus}'
            lines.append([title] + row(runs, (checkout, key), goal))
    out = [table(lines, ['burst', 'remotetask ms/job', 'daemon', 'workers',
                         'check', 'echo ms/call', 'ratio', 'goal',
                         'verdict', 'runs'])]
    if arguments.versus:
        out.append(versusTable(arguments, runs))
    return '\n'.join(out)


def row(runs, key, goal):
    """The cells of one row after its title."""
    total, daemon, workers, echo, check = (
        statistics.median(run[key][i] for run in runs) for i in range(5))
    ratios = [run[key][0] / run[key][3] for run in runs if run[key][3]]
    ratio = total / echo if echo else None
    verdict = '-'
    if goal and ratio is not None:
        verdict = 'met' if ratio <= goal else \
            f'missed by {ratio / goal:.2f}x'
    return [f'{total:.3f}', f'{daemon:.3f}', f'{workers:.3f}',
            f'{check:.3f}', f'{echo:.3f}', f'{ratio:.2f}x' if ratio is not None else '-',
            f'<= {goal:.1f}x' if goal else '', verdict, spread(ratios)]


def versusTable(arguments, runs):
    """This checkout's ms/job divided by the other's, per burst: the
    median of the per-repeat quotients (each of two bursts taken one
    right after the other), and their range."""
    lines = []
    for key, label, _ in rows:
        quotients = [run['this', key][0] / run['versus', key][0]
                     for run in runs if run['versus', key][0]]
        lines.append([label.format(**vars(arguments)),
                      f'{statistics.median(quotients):.2f}x'
                      if quotients else '-', spread(quotients)])
    return (f'\nThis checkout\'s ms/job divided by {arguments.versus}\'s '
            '(below 1: this one costs less)\n\n'
            + table(lines, ['burst', 'this / versus', 'runs']))


def spread(values):
    return f'{min(values):.2f}x..{max(values):.2f}x' if len(values) > 1 \
        else '-'

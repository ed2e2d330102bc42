"""compare.py's tables: the medians, the ratios, the optional features,
the server CPU per job, then the goals and the notes.

Each column is (key, header, format): the key names a figure of a run
(compare.measureOnce); every figure shown is the median over the repeats.
"""

import statistics

from adapter import ADD_AND_WAIT, PROGRESS
from goals import goalsReport
from tables import cell, ratio, table

# The main table.
columns = [
    ('e2eSingle', 'e2e/s single', '{:,.0f}'),
    ('e2eBatched', 'e2e/s batched', '{:,.0f}'),
    ('enqueueSingle', 'enqueue/s single', '{:,.0f}'),
    ('enqueueBatched', 'enqueue/s batched', '{:,.0f}'),
    ('p50', 'round trip p50 ms', '{:.2f}'),
    ('p99', 'round trip p99 ms', '{:.2f}'),
    ('rssMb', 'RSS MB', '{:.1f}'),
]
# The optional features, in a table of their own: only the systems that
# can offer them (`Adapter.optionalFeatures`) have a row.
extraColumns = [
    ('oneCallP50', 'addAndWait p50 ms', '{:.2f}', ADD_AND_WAIT),
    ('oneCallP99', 'addAndWait p99 ms', '{:.2f}', ADD_AND_WAIT),
    ('e2eProgress', 'e2e/s batched, progress x100', '{:,.0f}', PROGRESS),
]
# Server CPU per job over each burst (measure.Burst): the system's
# processes and its broker together, and the broker's part of it.
cpuColumns = [
    ('cpuSingle', 'CPU ms/job single', '{:.3f}'),
    ('brokerSingle', 'of it broker', '{:.3f}'),
    ('cpuBatched', 'CPU ms/job batched', '{:.3f}'),
    ('brokerBatched', 'of it broker', '{:.3f}'),
    # On PostgreSQL: the part of "broker" that the backends of the
    # system's own database spent (a note under the table).
    ('databaseSingle', 'of it own database single', '{:.3f}'),
    ('databaseBatched', 'of it own database batched', '{:.3f}'),
]
allColumns = columns + [column[:3] for column in extraColumns] + cpuColumns
echo = 'xmlrpc-echo'

cpuNote = '''\
Server CPU per job: utime+stime from /proc over each burst (first add to
last result seen), divided by the jobs; the producer's own CPU is not
counted.  remotetask: the daemon and its worker processes (live ones, and
those it reaped); the competitors: their consumer/worker processes and
their broker; xmlrpc-echo: the bare server, per call.  "of it broker":
the Redis server (rq, celery, huey-redis), or every PostgreSQL process
(procrastinate, remotetask-pg, -pg2): other sessions use that PostgreSQL
too, so on a shared machine its part is an upper bound; the part its
own database's backends spent is below (not the WAL writer, checkpointer
and others, which serve every database).  "/ echo": divided by
xmlrpc-echo's CPU per call in the same phase.'''


def medians(runs):
    """name -> key -> the median of its runs' figures (None where no run
    has one), and 'why' -> key -> why the last run had none."""
    results = {}
    for name, measured in runs.items():
        if not measured:
            continue
        results[name] = {'why': dict(measured[-1].get('why', {}))}
        for key, *_ in allColumns:
            values = [run[key] for run in measured
                      if run.get(key) is not None]
            results[name][key] = statistics.median(values) if values \
                else None
    return results


def report(arguments, runs, failures, byName):
    """The tables and the notes, as text."""
    results = medians(runs)
    names = [name for name in arguments.only if name in results]
    out = [mainTables(arguments, results, names)]
    extraRows = [name for name in names if byName[name].optionalFeatures]
    if extraRows:
        out.append(optionalTable(results, extraRows))
    if names:
        out.append(cpuTable(results, names, byName))
    out.append(goalsReport(arguments, runs, results, failures))
    out.append('\nSystems:')
    for name in arguments.only:
        out.append(f'  {name}: {byName[name].description}')
    for name, why in failures.items():
        out.append(f'\n{name} could not be measured:\n{why}')
    return '\n'.join(out)


def mainTables(arguments, results, names):
    """The medians, then the same divided by the baseline's."""
    headers = ['system'] + [header for _, header, _ in columns]
    out = [table([[name] + [fmt.format(results[name][key])
                            for key, _, fmt in columns] for name in names],
                 headers)]
    baseline = arguments.baseline
    if baseline not in results and names:
        out.append(f'\n(no figures for {baseline}: ratios are relative to '
                   f'{names[0]} instead)')
        baseline = names[0]
    if names:
        out.append(f'\nRatios: each figure divided by {baseline}\'s '
                   '(throughput: higher is better; latency, RSS: lower is '
                   'better)\n')
        out.append(table(
            [[name] + [ratio(results[name][key], results[baseline][key])
                       for key, _, _ in columns] for name in names],
            headers))
    return '\n'.join(out)


def optionalTable(results, extraRows):
    """The optional features of the systems that can offer them, and why
    a feature was not measured."""
    out = ['\nOptional features (medians; "progress x100": the batched '
           'burst with a task reporting progress 100 times a job)\n',
           table([[name] + [cell(results[name], key, fmt)
                            for key, _, fmt, _ in extraColumns]
                  for name in extraRows],
                 ['system'] + [header for _, header, _, _ in extraColumns])]
    features = {key: feature for key, *_, feature in extraColumns}
    whys = {}
    for name in extraRows:
        for key, why in results[name]['why'].items():
            names = whys.setdefault((features[key], why), [])
            if name not in names:
                names.append(name)
    out.extend(f'  {feature} on {", ".join(names)}: {why}'
               for (feature, why), names in whys.items())
    return '\n'.join(out)


def cpuTable(results, names, byName):
    """Server CPU per job in each burst, and its ratio to the bare
    server's CPU per call."""
    rows = []
    for name in names:
        figures, row = results[name], [name]
        for phase in ('Single', 'Batched'):
            row.append(cell(figures, 'cpu' + phase, '{:.3f}'))
            row.append(cell(figures, 'broker' + phase, '{:.3f}')
                       if byName[name].broker else '-')
            row.append(ratio(figures.get('cpu' + phase) or 0,
                             results.get(echo, {}).get('cpu' + phase)))
        rows.append(row)
    headers = ['system', 'single ms/job', 'of it broker', 'single / echo',
               'batched ms/job', 'of it broker', 'batched / echo']
    out = ['\nServer CPU per job (medians)\n', table(rows, headers), cpuNote]
    for name in names:
        figures = results[name]
        if figures.get('databaseSingle') is not None:
            out.append(
                f'  {name}: of its PostgreSQL part, the backends of its own '
                f'database spent {cell(figures, "databaseSingle", "{:.3f}")}'
                f' ms/job single, '
                f'{cell(figures, "databaseBatched", "{:.3f}")} batched')
    return '\n'.join(out)

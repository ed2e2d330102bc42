"""Profile the remotetask daemon under the load of bench/run; summarise.

Run through bench/profile, which builds bench/.venv as bench/run does.  It
starts the system (remotetask on SQLite by default), warms it up, then runs
compare.py's phases one after the other, each under a profiler of its own
so that the paths they take stay apart:

- `roundtrip`: `--samples` times add, then wait, on the idle system;
- `single`:    a burst of `--n` adds, one per call, until all are done;
- `batched`:   the same burst in system.multicall batches of `--batch`;
- `addAndWait`: `--samples` one-call round trips, once the server offers
  addAndWait (issue 10), else skipped as "not offered";
- `progress`:  the batched burst with the task that reports progress 100
  times a job, once remotetask offers reportProgress (issue 13).

The profiler is py-spy (installed in bench/.venv by bench/requirements.txt,
never a dependency of the package): it attaches to each running daemon with
`--subprocesses`, so the worker processes are sampled too, and writes a
speedscope file per phase and daemon.  Where py-spy cannot attach (no
ptrace), or with `--profiler cprofile`, twistd's own `--profile` runs the
reactor under cProfile instead: one pstats file for the daemon's whole life,
reactor thread only.  Everything lands in `--out` (bench/profiles/SYSTEM-
TIME/ by default): the raw profiles, folded stacks and summary.txt, the
top functions by own and by total time per process role (server threads,
worker processes), which is also printed.

The figures printed beside the profiles are slowed by the profiler: use
bench/run for figures, this for where the time goes.
"""

import argparse
import collections
import sys
import time
from pathlib import Path

from adapter import (
    ADD_AND_WAIT, PROGRESS, BenchError, here, startSeconds, stopAll)
from measure import burst, percentile
from profilesummary import (
    readSpeedscope, summarisePstats, summariseStacks, writeFolded)
from pyspy import AttachFailed, pySpies
from runinfo import begin, ended, progress
from threadcpu import ThreadSplit
from xmlrpcsystems import (
    RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair,
    daemonOptionsArgument, withDaemonOptions)

systems = {system.name: system for system in
           (RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair)}
phaseNames = ['roundtrip', 'single', 'batched', 'addAndWait', 'progress']
# Above each phase's table of CPU split by thread.
cpuTitle = ('Server CPU by thread and worker process (utime+stime from '
            '/proc over the phase; Python thread names from py-spy dump):')
# The optional feature each phase needs, where it needs one.
phaseNeeds = {'addAndWait': ADD_AND_WAIT, 'progress': PROGRESS}


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/profile', description=__doc__.split('\n')[0])
    parser.add_argument('--only', default='remotetask',
                        choices=sorted(systems),
                        help='the system to profile (default remotetask, '
                        'on SQLite)')
    parser.add_argument('--n', type=int, default=2000,
                        help='jobs per burst (default 2000)')
    parser.add_argument('--batch', type=int, default=500,
                        help='jobs per call in the batched burst')
    parser.add_argument('--samples', type=int, default=200,
                        help='round trips in the roundtrip phase')
    parser.add_argument('--warmup', type=int, default=20,
                        help='round trips before profiling')
    daemonOptionsArgument(parser)
    parser.add_argument('--phases', default=','.join(phaseNames),
                        help='comma-separated, of: ' + ', '.join(phaseNames))
    parser.add_argument('--profiler', default='auto',
                        choices=['auto', 'py-spy', 'cprofile', 'none'],
                        help='auto: py-spy, or cProfile where py-spy '
                        'cannot attach; none: only the CPU split by '
                        'thread, nothing sampled')
    parser.add_argument('--rate', type=int, default=200,
                        help='py-spy samples per second (default 200)')
    parser.add_argument('--blocking', action='store_true',
                        help='py-spy: pause the daemon for each sample '
                        '(exact stacks, but more overhead, and here it '
                        'counts waiting threads as busy)')
    parser.add_argument('--idle', action='store_true',
                        help='py-spy: keep samples of threads that wait '
                        '(wall time, not CPU)')
    parser.add_argument('--gil', action='store_true',
                        help='py-spy: only samples of the thread holding '
                        'the GIL')
    parser.add_argument('--native', action='store_true',
                        help='py-spy: include C frames (slower)')
    parser.add_argument('--top', type=int, default=25,
                        help='functions listed per role in the summary')
    parser.add_argument('--out', default=None,
                        help='directory for the profiles (default '
                        'bench/profiles/SYSTEM-YYYYmmdd-HHMMSS)')
    arguments = parser.parse_args(argv)
    arguments.phases = [name.strip() for name in arguments.phases.split(',')
                        if name.strip()]
    unknown = set(arguments.phases) - set(phaseNames)
    if unknown or not arguments.phases:
        parser.error(f'--phases: of {", ".join(phaseNames)}')
    if min(arguments.n, arguments.batch, arguments.samples, arguments.top,
           arguments.rate) < 1:
        parser.error('--n, --batch, --samples, --top, --rate must be >= 1')
    arguments.out = Path(arguments.out or here / 'profiles' / (
        f'{arguments.only}-{time.strftime("%Y%m%d-%H%M%S")}')).resolve()
    arguments.repeat = 1  # for compare.header
    return arguments


# The load: compare.py's phases

def runPhase(adapter, arguments, phase):
    """Run one phase; return its figures as a line of text, and the
    table of its CPU split by thread and worker process (threadcpu)."""
    split = ThreadSplit(adapter)
    split.begin()
    if phase in ('roundtrip', 'addAndWait'):
        once = adapter.roundTrip if phase == 'roundtrip' else \
            adapter.addAndWait
        latencies = []
        for k in range(arguments.samples):
            began = time.perf_counter()
            once(k)
            latencies.append(time.perf_counter() - began)
        return (f'round trip p50 {percentile(latencies, 50) * 1000:.2f} ms, '
                f'p99 {percentile(latencies, 99) * 1000:.2f} ms',
                split.rows(arguments.samples, 'round trip'))
    measured = burst(
        adapter, arguments.n, None if phase == 'single' else arguments.batch,
        adapter.enqueueManyProgress if phase == 'progress' else None)
    return (f'enqueue/s {measured.enqueued:,.0f}, e2e/s {measured.e2e:,.0f}'
            f', CPU {measured.cpuTotal:.3f} ms/job',
            split.rows(arguments.n))


def runnablePhases(arguments, adapter, parts):
    """The phases to run, in turn; for each one the system does not
    offer, a line in `parts` (and on stderr) saying why."""
    offered = adapter.offered()
    for phase in arguments.phases:
        why = offered.get(phaseNeeds[phase]) if phase in phaseNeeds \
            else None
        if why:
            parts.append(f'=== phase {phase}: {why} ===')
            progress(parts[-1])
        else:
            yield phase


# cProfile, through twistd's own --profile

def cProfiled(systemClass, outDir):
    """The system class with twistd running its reactor under cProfile."""
    class CProfiled(systemClass):
        def twistdOptions(self, label):
            return [f'--profile={outDir / f"{label}.pstats"}',
                    '--profiler=cprofile', '--savestats']
    return CProfiled


# The run

def profileWithPySpy(arguments, adapter):
    """Each phase under py-spy; returns the summary text."""
    serverPids = {daemon.pid for daemon in adapter.workers}
    parts = []
    for phase in runnablePhases(arguments, adapter, parts):
        with pySpies(arguments, adapter, phase):
            began = time.monotonic()
            figures, split = runPhase(adapter, arguments, phase)
            took = time.monotonic() - began
        progress(f'{phase}: {figures} ({took:.1f} s, under py-spy)')
        stacks = collections.defaultdict(collections.Counter)
        for daemon in adapter.workers:
            path = arguments.out / f'{phase}-{daemon.label}.speedscope.json'
            if not path.exists():
                raise BenchError(f'py-spy wrote no {path.name}; its log: '
                                 f'{path.with_suffix(".log")}')
            for where, counter in readSpeedscope(path, serverPids).items():
                stacks[where].update(counter)
        writeFolded(stacks, arguments.out / f'{phase}.folded.txt')
        parts.append(f'=== phase {phase}: {figures}, {took:.1f} s of wall '
                     f'time ===\n\n{cpuTitle}\n{split}\n\n'
                     + summariseStacks(stacks, arguments.top))
    return '\n\n'.join(parts)


def phasesUnsampled(arguments, adapter, profiler):
    """Each phase without py-spy (under cProfile, or no profiler): the
    CPU split of each, as a list of texts."""
    parts = []
    for phase in runnablePhases(arguments, adapter, parts):
        figures, split = runPhase(adapter, arguments, phase)
        progress(f'{phase}: {figures}'
                 + (' (under cProfile)' if profiler == 'cprofile' else ''))
        parts.append(f'=== phase {phase}: {figures} ===\n\n{cpuTitle}\n'
                     f'{split}')
    return parts


def runProfile(arguments, profiler):
    """Start the system, warm it up, profile; return the summary text."""
    systemClass = withDaemonOptions(systems[arguments.only],
                                    arguments.daemonOptions)
    # The daemon's logs stay beside its profiles; its store is dropped.
    workDir = arguments.out / f'daemon-{profiler}'
    workDir.mkdir()
    if profiler == 'cprofile':
        systemClass = cProfiled(systemClass, arguments.out)
    adapter = systemClass(workDir)
    try:
        adapter.start()
        adapter.roundTrip(-1, timeout=startSeconds)
        for k in range(arguments.warmup):
            adapter.roundTrip(-2 - k)
        if profiler == 'py-spy':
            return profileWithPySpy(arguments, adapter)
        parts = phasesUnsampled(arguments, adapter, profiler)
    except AttachFailed:
        raise  # The daemon is fine: main() falls back.
    except Exception:
        for worker in adapter.workers:
            progress(f'  {worker.label}:\n{worker.logTail()}')
        raise
    finally:
        adapter.stop()
        for path in workDir.glob('jobs.sqlite*'):
            path.unlink()
    if profiler == 'none':
        return '\n\n'.join(parts)
    # twistd writes its stats as the reactor stops, which stop() awaited.
    parts.insert(0, 'cProfile (twistd --profile): the reactor thread of '
                 'each daemon, over its whole life (start-up, warm-up and '
                 'every phase); store threads and worker processes are not '
                 'seen; it slows the reactor thread, and so its CPU '
                 'figures.')
    for daemon in adapter.workers:
        path = arguments.out / f'{daemon.label}.pstats'
        if not path.exists():
            raise BenchError(f'twistd wrote no {path}; its log: '
                             f'{daemon.logPath}')
        parts.append(f'=== {daemon.label} ===\n'
                     + summarisePstats(path, arguments.top))
    return '\n\n'.join(parts)


def main(argv):
    arguments = parseArguments(argv)
    arguments.out.mkdir(parents=True, exist_ok=True)
    began = begin(arguments, 'bench/profile', (
        f'phases {", ".join(arguments.phases)}: n = {arguments.n} per '
        f'burst, batches of {arguments.batch}, {arguments.samples} round '
        f'trips; profiler {arguments.profiler}'
        + (f', py-spy at {arguments.rate} Hz' if arguments.profiler in
           ('auto', 'py-spy') else '')))
    profiler = 'py-spy' if arguments.profiler == 'auto' else \
        arguments.profiler
    try:
        try:
            summary = runProfile(arguments, profiler)
        except AttachFailed as error:
            if arguments.profiler != 'auto':
                raise
            progress(f'{error}\nFalling back to cProfile (twistd --profile):'
                     ' the reactor thread only.')
            profiler = 'cprofile'
            summary = runProfile(arguments, profiler)
    except Exception as error:
        print(f'\nFAILED: {type(error).__name__}: {error}')
        return 1
    finally:
        stopAll()
    summary = (f'profiler: {profiler}; figures are slowed by it\n\n'
               if profiler != 'none' else 'profiler: none\n\n') + summary
    (arguments.out / 'summary.txt').write_text(summary + '\n')
    print()
    print(summary)
    print(f'\nprofiles in {arguments.out}:')
    for path in sorted(arguments.out.iterdir()):
        print(f'  {path.name}')
    print(ended(began))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

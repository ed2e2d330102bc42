"""Issue 18's "Done when" as a table: each goal a ratio of two medians.

compare.py prints it after its tables.  Each goal names the figure of one
system and the figure it is divided by (or none, for an absolute bound
such as a p99 in ms); the table shows both medians, the ratio, the target
and met or missed, and where a system failed, was not run or lacks the
feature, says so instead.
"""

from tables import cell, table


class Goal:
    """One goal of issue 18's "Done when" (or 13's progress figure): a
    figure of one system divided by a figure of another (or taken alone,
    when `base` is None), which must be at least (`atLeast`) or at most
    the target."""

    def __init__(self, label, system, key, base, target, atLeast, unit='x'):
        self.label, self.system, self.key = label, system, key
        self.base, self.target, self.atLeast = base, target, atLeast
        self.unit = unit

    def value(self, figures):
        """The goal's quotient (or figure) from one set of figures: a dict
        name -> key -> value; None when a figure is missing."""
        top = figures.get(self.system, {}).get(self.key)
        if self.base is None:
            return top
        baseSystem, baseKey = self.base
        bottom = figures.get(baseSystem, {}).get(baseKey)
        if top is None or not bottom:
            return None
        return top / bottom

    def met(self, value):
        return value >= self.target if self.atLeast else \
            value <= self.target

    def show(self, value):
        return f'{value:.2f}{self.unit}' if self.unit == 'x' else \
            f'{value:.2f} {self.unit}'

    def goalText(self):
        return ('>= ' if self.atLeast else '<= ') + (
            f'{self.target:g}{self.unit}' if self.unit == 'x'
            else f'{self.target:g} {self.unit}')


echo, huey, rt = 'xmlrpc-echo', 'huey-redis', 'remotetask'
goals = [
    Goal('single e2e / echo calls/s', rt, 'e2eSingle', (echo, 'e2eSingle'),
         0.8, True),
    Goal('batched e2e / huey-redis single e2e', rt, 'e2eBatched',
         (huey, 'e2eSingle'), 5, True),
    Goal('multicall enqueue / echo multicall calls/s', rt,
         'enqueueBatched', (echo, 'e2eBatched'), 0.9, True),
    Goal('add+wait p50 / huey-redis p50', rt, 'p50', (huey, 'p50'), 1,
         False),
    Goal('remotetask-pg single e2e / procrastinate single e2e',
         'remotetask-pg', 'e2eSingle', ('procrastinate', 'e2eSingle'), 1.5,
         True),
    Goal('server CPU/job single / echo CPU/call', rt, 'cpuSingle',
         (echo, 'cpuSingle'), 2, False),
    Goal('server CPU/job batched / echo CPU/call in multicalls', rt,
         'cpuBatched', (echo, 'cpuBatched'), 3, False),
    Goal('progress x100 batched e2e / plain batched e2e (issue 13)', rt,
         'e2eProgress', (rt, 'e2eBatched'), 0.9, True),
]


def goalsReport(arguments, runs, results, failures):
    """The goals table: each goal's ratio of medians, its goal, met or
    missed; with more than one repeat, the range of the per-repeat ratios
    (each repeat's systems ran close together in time)."""
    rows = []
    for goal in goals:
        missing = missingFigure(goal, arguments, results, failures)
        if missing:
            rows.append([goal.label, missing, '-', goal.goalText(), '-',
                         '-'])
            continue
        value = goal.value(results)
        if value is None:
            # A base of 0: a CPU figure below one tick (too small an --n).
            rows.append([goal.label, measuredText(goal, results), '-',
                         goal.goalText(), 'base is 0', '-'])
            continue
        perRun = [v for v in map(goal.value, perRepeat(goal, runs))
                  if v is not None]
        spread = (f'{goal.show(min(perRun))}..{goal.show(max(perRun))}'
                  if len(perRun) > 1 else '-')
        if goal.met(value):
            verdict = 'met'
        elif not value:
            verdict = 'missed'
        else:
            verdict = 'missed by ' + (
                f'{goal.target / value:.2f}x' if goal.atLeast
                else f'{value / goal.target:.2f}x')
        rows.append([goal.label, measuredText(goal, results),
                     goal.show(value), goal.goalText(), verdict, spread])
    return ('\nGoals (issue 18, "Done when"): ratios of the medians above; '
            '"runs": the range of the per-repeat ratios; the CPU goals are '
            'judged by bench/cpu\n\n' + table(
                rows, ['goal', 'measured', 'ratio', 'goal', 'verdict',
                       'runs'], left=2))


def perRepeat(goal, runs):
    """The figures of each repeat, as goal.value takes them: one dict
    name -> figures per repeat that every system of the goal completed."""
    names = list(dict.fromkeys(
        [goal.system] + ([goal.base[0]] if goal.base else [])))
    return [dict(zip(names, figures))
            for figures in zip(*(runs.get(name, []) for name in names))]


def missingFigure(goal, arguments, results, failures):
    """Why the goal cannot be judged (a system failed, was not run, or
    lacks the feature), or None."""
    for name, key in [(goal.system, goal.key)] + (
            [goal.base] if goal.base else []):
        if name not in results:
            if name in failures:
                return f'{name} failed'
            if name not in arguments.only:
                return f'{name} not run'
            return f'no figures for {name}'
        if results[name].get(key) is None:
            why = cell(results[name], key, '')
            return why if name == goal.system else f'{name}: {why}'
    return None


def measuredText(goal, results):
    """The two medians the ratio divides, with their units."""
    def show(name, key):
        value = results[name][key]
        if key.startswith('cpu'):
            return f'{value:.3f} ms'
        if key in ('p50', 'p99', 'oneCallP50', 'oneCallP99'):
            return f'{value:.2f} ms'
        return f'{value:,.0f}/s'
    if goal.base is None:
        return show(goal.system, goal.key)
    return f'{show(goal.system, goal.key)} / {show(*goal.base)}'

"""The RQ job of the benchmark, imported by `rq worker` by its name."""


def echo(input):
    """Return the input: the no-op job every system runs."""
    return input

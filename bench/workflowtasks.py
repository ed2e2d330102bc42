"""The `count` task of bench/workflows.py (issue 21).

A no-op like `echo`, but its result stays small whatever it is given: a
chain given pass would otherwise nest every earlier result in the next
input (and pass the codec's depth bound after 100 steps).
"""


def count(input):
    """How many results the input was joined to (0 without pass)."""
    if isinstance(input, dict) and isinstance(input.get('results'), dict):
        return len(input['results'])
    return 0

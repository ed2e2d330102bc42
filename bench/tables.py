"""Plain-text tables and the cells in them, for every bench's report."""


def table(rows, headers, left=1):
    """Plain text, the first `left` columns left-aligned, the others
    right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers] + rows)
              for i in range(len(headers))]
    lines = []
    for number, row in enumerate([headers] + rows):
        cells = [str(text).ljust(width) if i < left else
                 str(text).rjust(width)
                 for i, (text, width) in enumerate(zip(row, widths))]
        lines.append('  '.join(cells).rstrip())
        if number == 0:
            lines.append('  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def cell(figures, key, fmt):
    """A figure formatted, or in short why there is none ("not offered";
    the detail in parentheses is printed below the table)."""
    if figures.get(key) is None:
        return figures.get('why', {}).get(key, '-').split(' (')[0]
    return fmt.format(figures[key])


def ratio(value, base):
    """value / base as '1.23x' ('-' without a base)."""
    if not base:
        return '-'
    quotient = value / base
    # Two decimals, or one significant digit where those would show 0.00.
    return f'{quotient:.2f}x' if quotient >= 0.095 else f'{quotient:.1g}x'

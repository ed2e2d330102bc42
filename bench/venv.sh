# Sourced by bench/run, bench/soak and bench/profile: makes bench/.venv with
# python3.11 (remotetask itself, `pip install -e .`, plus the competitors
# and py-spy of bench/requirements.txt, which are never dependencies of
# the package) and sets $bench, $root and $venv.  Installs again only when
# setup.py or the requirements change.

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench")"
venv="$bench/.venv"
stamp="$venv/.installed"

if [ ! -x "$venv/bin/python" ]; then
    python3.11 -m venv "$venv"
fi

wanted="$(cat "$bench/requirements.txt" "$root/setup.py" | sha256sum)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "bench: installing into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$bench/requirements.txt"
    # The competitors are measured even while the package does not
    # install: its column then says why it could not be measured.
    if "$venv/bin/python" -m pip install --quiet -e "$root"; then
        echo "$wanted" > "$stamp"
    else
        echo "bench: 'pip install -e $root' failed (above);" \
             "measuring the others" >&2
    fi
fi

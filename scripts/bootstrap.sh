#!/usr/bin/env bash
# Idempotent setup: .venv with the tap + test + meltano + analytics (dbt, plotly) extras, then the
# Meltano plugins, then Debian's chromium for the report test (apt-get, when run as root and missing).
# Re-runs pip only when pyproject.toml changed, and `meltano install` only when meltano.yml (or
# pyproject.toml, since the extractor is `pip_url: -e .`) changed. Needs only python3 (3.11+) and PyPI
# (and Debian's archive for chromium; without it the report test is skipped, or fails when CI is set).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

say() { printf 'bootstrap: %s\n' "$*" >&2; }

hash_of() { cat "$@" | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; }

# Serialize concurrent bootstraps of this checkout (demo and tests may start together).
if command -v flock >/dev/null 2>&1; then
    lock="${TMPDIR:-/tmp}/tap-microsoft365-bootstrap-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
    exec 9>"$lock"
    flock 9
fi

run_logged() {  # run_logged LOGFILE CMD...: quiet unless it fails
    local log="$1"; shift
    if ! "$@" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" | tail -n 40 >&2
        say "FAILED: $* (full log: $log)"
        return 1
    fi
}

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { say "python 3.11+ required, $PYTHON is $("$PYTHON" --version 2>&1)"; exit 1; }
    say "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

pyproject_hash="$(hash_of pyproject.toml)"
pip_stamp="$VENV/.bootstrap-pip.sha256"
if [[ "$(cat "$pip_stamp" 2>/dev/null)" != "$pyproject_hash" ]]; then
    say "installing the tap with extras test,meltano,analytics into .venv (pyproject.toml changed or first run)"
    start=$SECONDS
    run_logged "$VENV/bootstrap-pip.log" "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[test,meltano,analytics]'
    echo "$pyproject_hash" >"$pip_stamp"
    say "pip install done in $((SECONDS - start))s"
else
    say ".venv up to date"
fi

meltano_hash="$(hash_of meltano.yml pyproject.toml)"
meltano_stamp="$ROOT/.meltano/.bootstrap-meltano.sha256"
if [[ "$(cat "$meltano_stamp" 2>/dev/null)" != "$meltano_hash" ]]; then
    say "meltano install (meltano.yml changed or first run)"
    start=$SECONDS
    mkdir -p "$ROOT/.meltano"
    run_logged "$ROOT/.meltano/bootstrap-install.log" "$VENV/bin/meltano" install
    echo "$meltano_hash" >"$meltano_stamp"
    say "meltano install done in $((SECONDS - start))s"
else
    say "meltano plugins up to date"
fi

# Headless Chromium opens the dbt package's HTML report in tests/test_transform.py (Debian's package).
if command -v chromium >/dev/null 2>&1; then
    say "chromium present"
elif [[ "${BOOTSTRAP_SKIP_APT:-}" == 1 ]]; then
    say "chromium missing (BOOTSTRAP_SKIP_APT=1): the report test will be skipped (it fails when CI is set)"
elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium (apt-get install chromium)"
    start=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y --no-install-recommends chromium >"$VENV/bootstrap-apt.log" 2>&1 \
        || { apt-get update >>"$VENV/bootstrap-apt.log" 2>&1 \
             && apt-get install -y --no-install-recommends chromium >>"$VENV/bootstrap-apt.log" 2>&1; }; then
        say "chromium installed in $((SECONDS - start))s"
    else
        tail -n 20 "$VENV/bootstrap-apt.log" >&2
        # not fatal: only the report test needs it (skipped without it, failed when CI is set)
        say "could not install chromium (log: $VENV/bootstrap-apt.log); the report test needs it"
    fi
else
    say "chromium missing and not root (or no apt-get): run 'sudo apt-get install chromium' for the report test"
fi

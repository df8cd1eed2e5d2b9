#!/usr/bin/env bash
# The test command: install what is needed, then ruff, mypy and the whole pytest suite.
# Arguments go to pytest, e.g. `bash scripts/test.sh tests/test_directory.py -k users`.
# When CI is set, the PostgreSQL end-to-end test must run (REQUIRE_POSTGRES=1): no server is a failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

if [[ -n "${CI:-}" ]]; then
    export REQUIRE_POSTGRES=1
fi

echo "test: ruff check ." >&2
.venv/bin/ruff check .

echo "test: mypy (tap_microsoft365, m365_graph_sandbox)" >&2
.venv/bin/mypy

echo "test: pytest" >&2
exec .venv/bin/python -m pytest "$@"

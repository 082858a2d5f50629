#!/usr/bin/env bash
# Create the course's virtual environment from nothing: the pinned packages, the helpers package (editable),
# and a Jupyter kernel named ml-marketing that runs in this environment. Called by `make` targets.
set -euo pipefail
PY="${1:?usage: bootstrap.sh PYTHON VENV}"
VENV="${2:?usage: bootstrap.sh PYTHON VENV}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "error: $PY not found. Install Python 3.11 (https://www.python.org/downloads/) or run: make PYTHON=/path/to/python3.11 ..." >&2
  exit 1
fi
"$PY" - <<'PYCHECK' || exit 1
import sys
if sys.version_info[:2] < (3, 11):
    sys.exit(f"error: Python 3.11 or newer is needed, {sys.executable} is {sys.version.split()[0]}")
PYCHECK
bash tools/ensure_blas.sh
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
export UV_COMPILE_BYTECODE=1   # compile .pyc now: some machines forbid writing them at import time
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" -r requirements.lock
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e .
"$VENV/bin/python" -m ipykernel install --sys-prefix --name ml-marketing \
  --display-name "Python (ML for marketing)" \
  --env PYTENSOR_FLAGS "${PYTENSOR_FLAGS:-}" --env PYDEVD_DISABLE_FILE_VALIDATION 1 >/dev/null
echo "environment ready: $VENV (kernel: ml-marketing)"

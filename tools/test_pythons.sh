#!/usr/bin/env bash
# `make test-pythons`: re-derive the whole course with each Python named (default: 3.11, 3.12, 3.13), each in its
# own virtual environment .venv-3.X with the same pinned packages, and compare every notebook with the committed
# one (helpers.reproduce's rule). A Python that is not installed is reported and makes the target fail.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
status=0
summary=()

# The interpreter named, if it runs; else, where pyenv has that version installed but not selected (its shim
# then refuses to run), that version's own interpreter.
resolve() {
  local py="$1" exe want v root
  exe="$(command -v "$py" 2>/dev/null)"
  if [ -n "$exe" ] && "$exe" -c 'import sys' >/dev/null 2>&1; then
    echo "$exe"
    return 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    want="${py#python}"
    root="$(pyenv root)"
    v="$(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.|$)" | sort -V | tail -n 1)"
    if [ -n "$v" ] && [ -x "$root/versions/$v/bin/python$want" ]; then
      echo "$root/versions/$v/bin/python$want"
      return 0
    fi
  fi
  return 1
}

for py in "$@"; do
  exe="$(resolve "$py")"
  if [ -z "$exe" ]; then
    summary+=("$py: not found (install it, or name another with PYTHONS=...)")
    status=1
    continue
  fi
  version="$("$exe" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  full="$("$exe" -c 'import sys; print(sys.version.split()[0])')"
  venv=".venv-$version"
  echo "== Python $full ($exe) in $venv"
  if ! bash tools/bootstrap.sh "$exe" "$venv"; then
    summary+=("Python $full: the pinned packages did not install")
    status=1
    continue
  fi
  if "$venv/bin/python" -m helpers.reproduce --config native; then
    summary+=("Python $full: every committed notebook re-derived")
  else
    summary+=("Python $full: differences from the committed notebooks (above)")
    status=1
  fi
done
echo
printf '%s\n' "${summary[@]}"
exit $status

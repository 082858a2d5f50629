#!/usr/bin/env bash
# Install Debian/Ubuntu packages when this machine allows it (root, or sudo without a password).
# Exit 0 when installed, 3 when not allowed here (no apt-get, or neither root nor passwordless sudo); the caller
# then prints its own advice. Used by ensure_blas.sh, ensure_chromium.sh and ensure_java.sh.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else exit 3; fi
fi
command -v apt-get >/dev/null 2>&1 || exit 3
echo "Installing $* (apt-get install) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null

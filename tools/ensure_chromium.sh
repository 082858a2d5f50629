#!/usr/bin/env bash
# The course-site test (tests/test_site.py) opens the rendered lessons in headless Chromium through ChromeDriver.
# On Debian/Ubuntu we install both from the system packages (chromium, chromium-driver) when we are allowed to;
# no browser is ever downloaded by a test tool. Elsewhere, install Chromium and a matching ChromeDriver yourself
# and point CHROMIUM and CHROMEDRIVER at them; without them the browser test is skipped (and fails under CI=true).
set -euo pipefail
have() { command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 && command -v "${CHROMEDRIVER:-chromedriver}" >/dev/null 2>&1; }
if have; then
  exit 0
fi
status=0
bash "$(dirname "$0")/apt_install.sh" chromium chromium-driver || status=$?
if [ "$status" = 0 ]; then
  exit 0
elif [ "$status" != 3 ]; then
  exit "$status"
fi
cat >&2 <<'MSG'
warning: Chromium and ChromeDriver are not installed, and this script cannot install them here.
  Debian/Ubuntu: sudo apt-get install chromium chromium-driver
  elsewhere: install Chromium and the matching ChromeDriver, then set CHROMIUM and CHROMEDRIVER to their paths.
The browser test of the course site is skipped until then (under CI=true it fails).
MSG

#!/usr/bin/env bash
# Spark (helpers.spark, tests/test_spark.py) runs on the JVM and needs Java 17 or newer. On Debian/Ubuntu we
# install the headless OpenJDK 17 runtime from the system packages when we are allowed to; elsewhere install a
# Java 17+ runtime yourself (or set JAVA_HOME). Without it the Spark tests are skipped (and fail under CI=true).
set -euo pipefail
java_major() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  command -v "$java" >/dev/null 2>&1 || { echo 0; return; }
  "$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}
if [ "$(java_major)" -ge 17 ] 2>/dev/null; then
  exit 0
fi
status=0
# openjdk-17 on Debian 12 and Ubuntu 22.04+; newer releases carry only a newer JDK, which default-jre-headless
# names (21 on Debian 13)
bash "$(dirname "$0")/apt_install.sh" openjdk-17-jre-headless || status=$?
if [ "$status" != 0 ] && [ "$status" != 3 ]; then
  status=0
  bash "$(dirname "$0")/apt_install.sh" default-jre-headless || status=$?
fi
if [ "$status" = 0 ] && [ "$(java_major)" -ge 17 ] 2>/dev/null; then
  exit 0
elif [ "$status" != 0 ] && [ "$status" != 3 ]; then
  exit "$status"
fi
cat >&2 <<'MSG'
warning: no Java 17+ runtime, and this script cannot install one here.
  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless
  macOS: brew install openjdk@17      conda: mamba install -c conda-forge openjdk=17
Then set JAVA_HOME if `java` is not on the PATH. The Spark tests are skipped until then (under CI=true they fail).
MSG

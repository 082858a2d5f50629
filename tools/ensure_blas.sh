#!/usr/bin/env bash
# Make sure PyTensor (under PyMC) can link a BLAS library; without one, models with matrix products crawl and
# PyTensor warns "could not link to a BLAS installation". pip's wheels do not provide a BLAS PyTensor can link,
# so on Linux we install the system OpenBLAS (Debian/Ubuntu: libopenblas-dev) when we are allowed to.
# macOS needs nothing: PyTensor links Apple's Accelerate framework by itself.
set -euo pipefail
case "$(uname -s)" in
  Darwin) exit 0 ;;
esac
if ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; then
  exit 0
fi
status=0
bash "$(dirname "$0")/apt_install.sh" libopenblas-dev || status=$?
if [ "$status" = 0 ]; then
  exit 0
elif [ "$status" != 3 ]; then
  exit "$status"
fi
cat >&2 <<'MSG'
warning: no OpenBLAS library found, and this script cannot install one here.
  Debian/Ubuntu: sudo apt-get install libopenblas-dev     Fedora: sudo dnf install openblas-devel
  or use environment.yml with conda/mamba, which brings its own BLAS.
The course still runs; PyMC models will be slower and the BLAS test will fail until then.
MSG

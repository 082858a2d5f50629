"""The set-up provides what the course needs at run time: a BLAS for PyTensor, the Jupyter kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(sys.platform != "linux", reason="the OpenBLAS set-up is for Linux; macOS uses Accelerate")
def test_pytensor_links_blas_without_warning():
    code = (
        "import numpy as np, pytensor, pytensor.tensor as pt\n"
        "assert pytensor.config.blas__ldflags, 'no BLAS flags'\n"
        "A = pt.matrix(); f = pytensor.function([A], A @ A)\n"
        "assert np.allclose(f(np.eye(3) * 2), np.eye(3) * 4)\n"
        "print(sorted(type(n.op).__name__ for n in f.maker.fgraph.toposort()))\n"
    )
    env = os.environ.copy()
    if not env.get("PYTENSOR_FLAGS"):  # run outside make: use what the course kernel gives JupyterLab users
        from jupyter_client.kernelspec import KernelSpecManager

        env["PYTENSOR_FLAGS"] = KernelSpecManager().get_kernel_spec("ml-marketing").env["PYTENSOR_FLAGS"]
    r = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "could not link to a BLAS" not in r.stderr
    assert "Dot22" in r.stdout or "Gemm" in r.stdout, r.stdout


def test_course_kernel_is_registered_in_this_environment():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("ml-marketing")
    assert spec.argv[0] == sys.executable or os.path.samefile(spec.argv[0], sys.executable)
    assert "PYTENSOR_FLAGS" in spec.env
    json.dumps(spec.to_dict())

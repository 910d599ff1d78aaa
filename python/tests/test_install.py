"""`cmake --install --component python` gives an importable package outside the build tree."""

import os
import shutil
import subprocess
import sys

import pytest


def test_installed_package_imports(tmp_path):
    build = os.environ.get("FUNNEL_BINARY_DIR")
    cmake = shutil.which("cmake")
    if not build or not cmake:
        pytest.skip("FUNNEL_BINARY_DIR is not set (run through ctest -R python)")
    subprocess.run([cmake, "--install", build, "--prefix", tmp_path, "--component", "python"],
                   check=True, capture_output=True)
    packages = [p.parent for p in tmp_path.rglob("funnel/__init__.py")]
    assert len(packages) == 1
    env = dict(os.environ, PYTHONPATH=str(packages[0].parent))
    out = subprocess.run([sys.executable, "-c", "import funnel; print(funnel.__file__)"],
                         env=env, check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.startswith(str(tmp_path))

"""Shared fixtures of funnel's Python tests: the repository's data, and `reference`, which runs
the C++ program funnel_py_reference (the same funnel calls from C++) and parses its hex floats."""

import os
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def _program(variable):
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f"{variable} is not set (run through ctest -R python)")
    return path


def run_reference(*args):
    """stdout lines of funnel_py_reference, each split on spaces."""
    out = subprocess.run([_program("FUNNEL_PY_REFERENCE"), *map(str, args)], check=True,
                         capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()]


def hex_floats(lines, dtype=np.float32):
    """Lines of C hex floats ("%a") as an array; exact (the text is the value's binary)."""
    return np.array([[float.fromhex(x) for x in line] for line in lines], dtype=np.float64).astype(dtype)


def bits(a):
    """The bit patterns of a float32 array (NaN compares equal to the same NaN)."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.fixture(scope="session")
def lending():
    """tests/data/lending_club.csv, numbers parsed correctly rounded (as funnel's CSV reader)."""
    return pd.read_csv(DATA / "lending_club.csv", float_precision="round_trip")


@pytest.fixture
def reference():
    return run_reference


@pytest.fixture
def fraud_server():
    return _program("FUNNEL_FRAUD_SERVE")

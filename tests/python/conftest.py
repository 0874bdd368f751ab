"""Shared fixtures: the reference test data and the frameprint program the
module is compared with.

FRAMEPRINT_BIN names the directory of the `frameprint` program (default:
build/bin of this checkout); the module under test is whatever `import
frameprint` finds (PYTHONPATH=build/python for the build tree, or an
installed package).
"""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def pytest_report_header(config):
    import frameprint

    return f"frameprint from {pathlib.Path(frameprint.__file__).parent}"


@pytest.fixture(scope="session", autouse=True)
def module_under_test():
    """FRAMEPRINT_EXPECT_MODULE_DIR: fail unless that copy is imported
    (an installed package, not a build tree on the path by accident)."""
    import frameprint

    expected = os.environ.get("FRAMEPRINT_EXPECT_MODULE_DIR")
    actual = pathlib.Path(frameprint.__file__).resolve().parent
    if expected:
        assert actual == pathlib.Path(expected).resolve(), f"imported {actual}, not {expected}"


@pytest.fixture(scope="session")
def testdata():
    path = pathlib.Path(os.environ.get("FRAMEPRINT_TESTDATA", REPO.parent / "shared" / "testdata"))
    if not path.is_dir():
        pytest.skip(f"{path} not found: the reference vectors are not here")
    return path


@pytest.fixture(scope="session")
def cli():
    program = pathlib.Path(os.environ.get("FRAMEPRINT_BIN", REPO / "build" / "bin")) / "frameprint"
    if not program.is_file():
        pytest.skip(f"{program} not built")

    def run(*args, stdin=None):
        out = subprocess.run(
            [str(program), *map(str, args)],
            input=stdin,
            capture_output=True,
            timeout=300,
            check=False,
        )
        return out

    def hash_lines(*args):
        out = run("hash", "--device", "cpu", *args)
        assert out.returncode in (0, 2), out.stderr.decode()
        return [json.loads(line) for line in out.stdout.decode().splitlines()]

    run.hash_lines = hash_lines
    return run

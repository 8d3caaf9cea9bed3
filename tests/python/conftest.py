"""How the Python tests reach llmcost: the installed package, or a build tree's (ctest sets
PYTHONPATH=<build>/python). The command line they compare against is the same package's
console entry (`python -m llmcost`), which is the CLI's main() compiled into the extension."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cli(*args):
    """`llmcost ARGS...` as a process: (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "llmcost", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def cli_json():
    def go(*args):
        rc, out, err = run_cli(*args, "--format", "json")
        assert rc == 0, err
        return json.loads(out)

    return go

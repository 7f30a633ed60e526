"""Each shared module imports on its own, first thing in a fresh interpreter: a script (a bench, a
set-up command) may import any of them first, and an import cycle shows only then."""

import subprocess
import sys

import pytest

from tests.support.infrastructure import REPO

FIRST_IMPORTS = ["shared.settings", "shared.db", "shared.db.leases", "shared.background", "shared.kafka",
                 "shared.kafka.provision", "shared.kafka.topology", "shared.service", "shared.delivery"]


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_the_module_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]

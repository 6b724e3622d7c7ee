"""The import layers of lava_lite hold: ``lint-imports`` keeps every contract of
``.importlinter`` (the process library and the runtimes build on the core, which imports
neither; no import cycle inside the core), and a forbidden import breaks one.

The source tree maps ``lava_lite.runtimes`` and ``lava_lite.proc_lib`` from ``runtimes/`` and
``proc_lib/`` (pyproject ``package-dir``), which import-linter cannot follow: it reads a
package from its own directory. So each check first lays the sources out as an installed
wheel does (``lava_lite/runtimes/...``, ``lava_lite/proc_lib/...``) in a temporary directory
and runs ``lint-imports`` there with the repository's ``.importlinter``.

``python tests/test_layers.py`` runs the check by hand and prints import-linter's report.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
PACKAGES = ("lava_lite", "lava_lite.runtimes", "lava_lite.proc_lib")
LAYERS = "proc_lib and runtimes build on the core"
ACYCLIC = "no import cycles inside the core"


def lay_out_installed(into: Path) -> Path:
    """Copy the sources of ``PACKAGES`` (wherever the import system finds them) into
    ``into`` as installed: each package in the directory its dotted name gives."""
    for name in PACKAGES:
        source = Path(importlib.util.find_spec(name).submodule_search_locations[0])
        shutil.copytree(source, into.joinpath(*name.split(".")), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return into


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the repository's contracts, over the sources in ``tree``
    (``--config``: what import-linter 2.15, the last release for Python 3.10, takes;
    2.17 takes the file as an argument too, and warns about ``--config``)."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or \
        shutil.which("lint-imports")
    assert command, "lint-imports not found: install import-linter (pip install -e '.[test]')"
    return subprocess.run([command, "--config", str(CONFIG), "--no-cache"], cwd=tree,
                          capture_output=True, text=True, timeout=120)


def _report(result: subprocess.CompletedProcess) -> str:
    return f"lint-imports exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"


def test_the_import_contracts_hold(tmp_path):
    result = lint_imports(lay_out_installed(tmp_path))
    assert result.returncode == 0, _report(result)
    assert "2 kept, 0 broken" in result.stdout, _report(result)


@pytest.mark.parametrize("module, statement, broken", [
    ("lava_lite/model.py", "import lava_lite.runtimes.wire", LAYERS),  # core -> runtimes
    ("lava_lite/var.py", "import lava_lite.proc_lib", LAYERS),  # core -> proc_lib
    ("lava_lite/proc_lib/lif/process.py", "import lava_lite.runtimes.wire", LAYERS),
    ("lava_lite/var.py", "import lava_lite.compiler", LAYERS),  # a graph part -> execution
    ("lava_lite/compiler/select.py", "import lava_lite.process", ACYCLIC),
    ("lava_lite/abstract_port.py", "import lava_lite.ports", ACYCLIC),
    ("lava_lite/compiler/state.py", "import lava_lite.compiler.expand", ACYCLIC),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, statement, broken):
    tree = lay_out_installed(tmp_path)
    with open(tree / module, "a") as source:
        source.write(f"\n{statement}\n")
    result = lint_imports(tree)
    assert result.returncode == 1, _report(result)
    assert f"{broken}" in result.stdout.split("Broken contracts")[-1], _report(result)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        outcome = lint_imports(lay_out_installed(Path(directory)))
    print(outcome.stdout, outcome.stderr, sep="")
    sys.exit(outcome.returncode)

"""Every tutorial runs as it is: each notebook in a Jupyter kernel, each script as a program.

Notebooks run with nbclient in a kernel named ``python3`` whose spec this test writes itself,
pointing at the interpreter running the tests (the project's venv), so a kernel spec
installed elsewhere on the machine can never stand in for it. nbclient, nbformat, ipykernel
and matplotlib come from the ``test`` extra. A failing cell fails the test
with the cell's source and traceback.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
SCRIPTS = sorted(TUTORIALS.glob("*.py"))
TIMEOUT = 120  # seconds for one notebook (and for one cell), or one script
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours its tracebacks

# Appended to every notebook when it runs here: a tutorial must end every run it starts.
LEFTOVER_CHECK = """
import multiprocessing
left = [p.name for p in multiprocessing.active_children() if p.name.startswith("lava_lite")]
assert not left, f"the notebook left worker processes running: {left}"
"""


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernel spec directory holding ``python3`` = this interpreter with ipykernel."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "python3"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (lava_lite tests)",
        "language": "python",
    }))
    return root


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch):
    """Keep the kernel's files (connection file, IPython history) out of the home folder."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def execute(nb, kernel_dir: Path, cwd: Path):
    """Run every cell of ``nb`` in place; raises nbclient's CellExecutionError on a failure."""
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = nbclient.NotebookClient(nb, km=km, kernel_name="python3", timeout=TIMEOUT,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def test_there_are_tutorials():
    assert NOTEBOOKS and SCRIPTS, f"no tutorials found in {TUTORIALS}"


def test_kernel_runs_this_interpreter(kernel_dir, jupyter_env, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys, lava_lite; print(sys.executable)"))
    execute(nb, kernel_dir, tmp_path)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(printed) == Path(sys.executable)


@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_dir, jupyter_env):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(LEFTOVER_CHECK))
    start = time.monotonic()
    try:
        execute(nb, kernel_dir, TUTORIALS)
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell raised\n{ANSI_ESCAPE.sub('', str(error))}",
                    pytrace=False)
    elapsed = time.monotonic() - start
    assert elapsed < TIMEOUT, f"{path.name} took {elapsed:.0f} s (limit {TIMEOUT} s)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    """Stored without outputs, so diffs show code and text only; valid nbformat."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name}: cell {k} holds outputs; clear them before committing")


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_runs(path, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (
        f"{path.name} exited with {result.returncode}\n--- stdout ---\n{result.stdout}"
        f"\n--- stderr ---\n{result.stderr}")

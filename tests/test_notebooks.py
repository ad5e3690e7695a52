"""The notebooks: anatomy, no committed outputs, smoke-tier execution (papermill), student versions.

`make test` also runs the solution notebooks through nbval (`--nbval-lax`) after this file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from gan_tutor.exercises import count_exercises, make_student_notebook, strip_outputs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT = ROOT / "notebooks" / "student"
IDS = [nb.stem for nb in NOTEBOOKS]

sys.path.insert(0, str(ROOT / "scripts"))
import make_student_notebooks  # noqa: E402


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert [nb.name[:2] for nb in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS + sorted(STUDENT.glob("*.ipynb")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_without_outputs(path):
    nb = read(path)
    assert strip_outputs(nb) == nb, f"{path.name} carries outputs or execution counts: strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_anatomy(path):
    nb = read(path)
    cells = nb.cells
    first = cells[0].source
    assert first.startswith("# ") and "colab.research.google.com/github/" in first and path.name in first
    assert re.search(r"\| *cpu *\|", first), "the opening cell states cost and result per tier"
    setup = next(c for c in cells if c.cell_type == "code")
    assert "google.colab" in setup.source and "env_check()" in setup.source
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("TIER", "SEED", "DEVICE", "DATASET", "RUN_ROOT"):
        assert re.search(rf"^{name} = ", params[0].source, re.M), f"parameters cell lacks {name}"
    assert "## References" in cells[-1].source
    leftovers = [(i, line) for i, c in enumerate(cells) if c.cell_type == "markdown"
                 for line in c.source.splitlines() if re.fullmatch(r"[A-Z][A-Z_]{3,}", line.strip())]
    assert not leftovers, f"placeholder lines left in markdown cells: {leftovers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_are_followed_by_checks_and_used_only_there(path):
    cells = read(path).cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 3, "each notebook carries at least 3 exercises"
    for i in solutions:
        names = re.findall(r"^(?:def|class) (\w+)\b", cells[i].source, re.M)
        assert names, f"cell {i}: an exercise defines a function (or a class)"
        check = cells[i + 1]
        assert check.cell_type == "code" and re.match(r"checks\.check_\w+\((\w+, )*" + names[-1] + r"\)", check.source.strip()), \
            f"cell {i + 1} should run the check on {names[-1]}"
        later = "\n".join(c.source for c in cells[i + 2:] if c.cell_type == "code")
        assert not re.search(rf"(?<![\w.]){names[-1]}\(", later), \
            f"{names[-1]} is used after its check: a student notebook would fail there with a NameError-like cascade"


def test_student_notebooks_have_not_drifted():
    assert make_student_notebooks.main(["--check"]) == 0, "run `make students` and commit notebooks/student/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solution_notebook_runs_at_smoke_tier(path, tmp_path, monkeypatch):
    import papermill as pm

    for key in ("GAN_TUTOR_HEADLESS", "GAN_TUTOR_WIDGETS", "JPY_SESSION_NAME"):  # as a user's papermill runs it
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), parameters={"TIER": "smoke", "RUN_ROOT": str(tmp_path / "runs")},
                        cwd=str(path.parent), progress_bar=False, kernel_name="python3")
    executed = read(out)
    passed = [o for c in executed.cells for o in c.get("outputs", []) if o.get("name") == "stdout" and "✓" in o.get("text", "")]
    assert len(passed) == count_exercises(read(path)), "every check prints a ✓ line in the solution notebook"
    if path.name.startswith("07"):  # alone, with an empty RUN_ROOT: the whole leaderboard, from the shipped weights
        text = "".join(str(o.get("text", "")) for c in executed.cells for o in c.get("outputs", []))
        for name in ("vanilla GAN (MLP)", "DCGAN + self-conditioning", "cGAN (projection)", "VAE", "StyleGAN2-lite + self-conditioning"):
            assert f"{name}: the shipped cpu-tier weights" in text, name
    for i, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        texts = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in cell.get("outputs", []))
        if "viz.explorer(" in cell.source:  # no widget front end: the first frame as an image that static viewers show
            assert len(images) == 1 and "interactive(" not in texts and "widgets" not in texts, (i, texts[:200])
        # the live plot is one output updated in place, and live.finish draws the final curves into it, not again:
        # a cell shows one image for the live plot if it trains, plus one per other figure it draws (snapshots, plots)
        if "hooks=[live]" in cell.source or "live.finish(state)" in cell.source:
            expected = ("hooks=[live]" in cell.source) + len(re.findall(r"viz\.plot_snapshots\(|plt\.show\(\)", cell.source))
            assert len(images) == expected, f"cell {i}: {len(images)} images, expected {expected}: curves drawn twice?"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_notebook_fails_only_with_not_implemented(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("GAN_TUTOR_TIER", "smoke")
    monkeypatch.setenv("GAN_TUTOR_RUNS", str(tmp_path / "runs"))
    student = read(STUDENT / path.name)
    assert student == make_student_notebook(read(path))
    NotebookClient(student, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in student.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert [e["ename"] for e in errors] == ["NotImplementedError"] * count_exercises(student), \
        [f"{e['ename']}: {e['evalue']}" for e in errors]

"""gan_tutor.course: one repository address and one version, the same in pyproject, every notebook, its badge and the
README; student badges open student notebooks; the Drive helper."""

from __future__ import annotations

import re
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

import gan_tutor
from gan_tutor import course, env
from gan_tutor.exercises import make_student_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT = ROOT / "notebooks" / "student"


def test_pyproject_names_the_same_repository_and_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Homepage"] == course.REPOSITORY
    assert project["version"] == course.VERSION == gan_tutor.__version__
    assert course.TAG == f"v{course.VERSION}" and course.github_path() == "gan-tutor/gan-tutor"
    assert course.install_requirement() == f"gan-tutor @ git+{course.REPOSITORY}@v{course.VERSION}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_installs_this_version_and_its_badges_open_it(path):
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code").source
    m = course.SETUP_LINE.search(setup)
    assert m and m.group(0) == course.setup_line(), f"{path.name}: the setup cell must start with {course.setup_line()}"
    assert 'f"gan-tutor @ git+{REPOSITORY}@v{VERSION}"' in setup  # the tag, never the default branch
    assert "raise SystemExit" in setup  # a failed install says what to do instead of a bare CalledProcessError
    assert course.BADGE.findall(nb.cells[0].source) == [course.colab_url(path.name)]
    student = nbformat.read(STUDENT / path.name, as_version=4)
    assert course.BADGE.findall(student.cells[0].source) == [course.colab_url(path.name, student=True)]
    readme = (ROOT / "README.md").read_text()
    assert f"]({course.colab_url(path.name)})" in readme


def test_readme_badges_all_point_at_this_version():
    urls = re.findall(r"https://colab\.research\.google\.com/github/[^)]+", (ROOT / "README.md").read_text())
    assert urls and all(f"/blob/{course.TAG}/notebooks/" in u for u in urls)


def test_the_student_badge_rewrite_is_idempotent_and_refuses_a_missing_badge():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# 09 · X\n\n{course.badge('09_x.ipynb')}\n")])
    once = make_student_notebook(nb)
    assert course.colab_url("09_x.ipynb", student=True) in once.cells[0].source
    assert make_student_notebook(once).cells[0].source == once.cells[0].source
    assert "/notebooks/student/" not in nb.cells[0].source  # the solution notebook is not changed
    assert course.with_badge(nb.cells[0].source, "09_x.ipynb", student=True) == once.cells[0].source
    with pytest.raises(ValueError, match="expected one Colab badge"):
        course.with_badge("# 09 · X\n", "09_x.ipynb")


def test_drive_run_root_mounts_drive_on_colab_only(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(RuntimeError, match="Colab only; here keep RUN_ROOT"):
        env.drive_run_root()
    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    root = env.drive_run_root("course-runs", mount_point=str(tmp_path))
    assert mounted == [str(tmp_path)] and root == str(tmp_path / "MyDrive" / "course-runs") and Path(root).is_dir()


def test_make_lab_passes_allow_root_only_to_root():
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lab = next(line for line in out.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in lab) == (os.getuid() == 0)

"""Tests for gan_tutor.exercises and scripts/make_student_notebooks.py, on notebooks built here."""

from __future__ import annotations

import ast
import copy
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from gan_tutor.exercises import (
    DEFAULT_HINT,
    ExerciseFormatError,
    count_exercises,
    make_student_notebook,
    strip_outputs,
)

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_student_notebooks.py"

D_LOSS_SOLUTION = '''\
import math

def d_loss(real_logit, fake_logit):
    """-[log D(x) + log(1 - D(G(z)))] for one pair of logits."""
    # BEGIN SOLUTION
    # HINT: -log sigmoid(a) = softplus(-a)
    # HINT: and -log(1 - sigmoid(a)) = softplus(a).
    softplus = lambda a: math.log1p(math.exp(a))
    return softplus(-real_logit) + softplus(fake_logit)
    # END SOLUTION

D_LOSS_DEFINED = True
'''

D_LOSS_STUDENT = '''\
import math

def d_loss(real_logit, fake_logit):
    """-[log D(x) + log(1 - D(G(z)))] for one pair of logits."""
    raise NotImplementedError("-log sigmoid(a) = softplus(-a) and -log(1 - sigmoid(a)) = softplus(a).")

D_LOSS_DEFINED = True
'''


def _solution(source: str, **kw):
    return v4.new_code_cell(source, metadata={"tags": ["solution"]}, **kw)


def _notebook(*cells):
    nb = v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # Fixed ids: v4.new_*_cell draws random ones, and two builds must give the same bytes.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def _example_notebook():
    output = v4.new_output("stream", name="stdout", text="✓ d_loss matches\n")
    return _notebook(
        v4.new_markdown_cell("# Exercise\nWrite `d_loss`; regions start with `# BEGIN SOLUTION`."),
        v4.new_code_cell("x = 1 + 1\nx", execution_count=3,
                         outputs=[v4.new_output("execute_result", {"text/plain": "2"},
                                                execution_count=3)]),
        _solution(D_LOSS_SOLUTION, execution_count=4, outputs=[output]),
        v4.new_code_cell("assert abs(d_loss(0.0, 0.0) - 2 * math.log(2)) < 1e-12\nprint('✓')",
                         metadata={"tags": ["check"]}),
    )


def _load_script():
    spec = importlib.util.spec_from_file_location("make_student_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_cells(nb) -> dict:
    """Execute the notebook's code cells in one namespace, as a kernel would (no kernel needed)."""
    namespace: dict = {}
    exec(compile("\n".join(c.source for c in nb.cells if c.cell_type == "code"), "<nb>", "exec"),
         namespace)
    return namespace


# --- the transformation ----------------------------------------------------------------------------


def test_region_in_function_becomes_stub_with_joined_hint():
    student = make_student_notebook(_example_notebook())
    assert student.cells[2].source == D_LOSS_STUDENT


def test_region_in_method_keeps_method_indentation():
    source = (
        "class Critic:\n"
        "    scale = 2\n"
        "\n"
        "    def score(self, x):\n"
        "        y = x + 1\n"
        "        # BEGIN SOLUTION\n"
        "        # HINT: multiply by the class attribute\n"
        "        return self.scale * y\n"
        "        # END SOLUTION\n"
        "\n"
        "critic = Critic()\n"
    )
    student = make_student_notebook(_notebook(_solution(source)))
    assert student.cells[0].source == (
        "class Critic:\n"
        "    scale = 2\n"
        "\n"
        "    def score(self, x):\n"
        "        y = x + 1\n"
        '        raise NotImplementedError("multiply by the class attribute")\n'
        "\n"
        "critic = Critic()\n"
    )
    namespace: dict = {}
    exec(student.cells[0].source, namespace)
    with pytest.raises(NotImplementedError, match="^multiply by the class attribute$"):
        namespace["critic"].score(1)


def test_two_regions_in_one_cell_and_default_hint():
    source = (
        "def f(x):\n"
        "    # BEGIN SOLUTION\n"
        "    return 2 * x\n"
        "    # END SOLUTION\n"
        "\n"
        "def g(x):\n"
        "    # BEGIN SOLUTION\n"
        "    # HINT: g is f plus one\n"
        "    return f(x) + 1\n"
        "    # END SOLUTION"  # last line without newline: none is added
    )
    student = make_student_notebook(_notebook(_solution(source)))
    expected = (
        "def f(x):\n"
        f'    raise NotImplementedError("{DEFAULT_HINT}")\n'
        "\n"
        "def g(x):\n"
        '    raise NotImplementedError("g is f plus one")'
    )
    assert student.cells[0].source == expected
    namespace: dict = {}
    exec(student.cells[0].source, namespace)
    with pytest.raises(NotImplementedError, match="^Exercise: write this part"):
        namespace["f"](1)
    with pytest.raises(NotImplementedError, match="^g is f plus one$"):
        namespace["g"](1)


def test_top_level_region_and_tab_indentation_kept():
    source = ("# BEGIN SOLUTION\nanswer = 42\n# END SOLUTION\n"
              "if True:\n\t# BEGIN SOLUTION\n\tpass\n\t# END SOLUTION\n")
    student = make_student_notebook(_notebook(_solution(source)))
    assert student.cells[0].source == (
        f'raise NotImplementedError("{DEFAULT_HINT}")\nif True:\n'
        f'\traise NotImplementedError("{DEFAULT_HINT}")\n'
    )


@pytest.mark.parametrize("hint", ['say "hi"', "it's", "both ' and \"", "back\\slash", "ünï ✓"])
def test_hint_quoting_round_trips(hint):
    source = f"def f():\n    # BEGIN SOLUTION\n    # HINT: {hint}\n    return 1\n    # END SOLUTION\n"
    stub_line = make_student_notebook(_notebook(_solution(source))).cells[0].source.splitlines()[1]
    call = ast.parse(stub_line.strip()).body[0].exc
    assert call.func.id == "NotImplementedError"
    assert ast.literal_eval(call.args[0]) == hint


def test_tags_switched_outputs_stripped_other_cells_untouched():
    nb = _example_notebook()
    nb.cells[2].metadata["tags"] = ["solution", "exercise-d-loss"]
    nb.cells[1].metadata["execution"] = {"iopub.status.idle": "2025-01-01T00:00:00Z"}
    original = copy.deepcopy(nb)
    student = make_student_notebook(nb)

    assert nb == original  # the input is not modified
    assert student.cells[2].metadata["tags"] == ["exercise", "exercise-d-loss"]
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "execution" not in student.cells[1].metadata
    assert student.cells[0] == original.cells[0]  # markdown quoting a marker: unchanged
    assert student.cells[1].source == original.cells[1].source
    assert student.cells[3] == original.cells[3]  # the check cell
    assert [c.id for c in student.cells] == [c.id for c in original.cells]
    assert student.metadata["gan_tutor"] == {"student": True}
    assert student.metadata["kernelspec"] == original.metadata["kernelspec"]


def test_solution_runs_and_student_raises_hint():
    solution = _example_notebook()
    namespace = _run_cells(solution)  # the check cell asserts the closed form 2 log 2
    assert namespace["d_loss"](0.0, 0.0) == pytest.approx(2 * 0.6931471805599453, abs=1e-12)

    student_ns: dict = {}
    exec("\n".join(c.source for c in make_student_notebook(solution).cells[1:3]), student_ns)
    assert student_ns["D_LOSS_DEFINED"] is True  # code after the region still runs
    with pytest.raises(NotImplementedError, match=r"^-log sigmoid\(a\) = softplus\(-a\) and"):
        student_ns["d_loss"](0.0, 0.0)
    # Run whole, the student notebook stops at the check with NotImplementedError, nothing else.
    with pytest.raises(NotImplementedError):
        _run_cells(make_student_notebook(solution))


def test_count_exercises():
    nb = _example_notebook()
    nb.cells.append(_solution("def h():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n"
                              "def k():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n"))
    assert count_exercises(nb) == 2  # one per cell, however many regions
    assert count_exercises(make_student_notebook(nb)) == 2
    assert count_exercises(_notebook(v4.new_code_cell("pass"))) == 0


def test_strip_outputs_is_pure_and_detects_outputs():
    nb = _example_notebook()
    nb.metadata["papermill"] = {"duration": 1.0}
    clean = strip_outputs(nb)
    assert clean != nb and nb.cells[1].outputs  # input kept
    assert strip_outputs(clean) == clean  # the test a committed notebook must pass
    assert clean.cells[1].outputs == [] and clean.cells[1].execution_count is None
    assert "papermill" not in clean.metadata
    assert clean.cells[2].source == nb.cells[2].source  # solutions are kept


def test_deterministic_and_idempotent():
    a = nbformat.writes(make_student_notebook(_example_notebook()))
    b = nbformat.writes(make_student_notebook(_example_notebook()))
    assert a == b
    student = make_student_notebook(_example_notebook())
    assert make_student_notebook(student) == student


# --- format errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, match",
    [
        ("def f():\n    # BEGIN SOLUTION\n    return 1\n",
         r"notebook cell 1, line 2: '# BEGIN SOLUTION' has no matching '# END SOLUTION': add"),
        ("def f():\n    return 1\n    # END SOLUTION\n",
         r"notebook cell 1, line 3: '# END SOLUTION' without a '# BEGIN SOLUTION' above it"),
        ("# BEGIN SOLUTION\nx = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n",
         r"notebook cell 1, line 3: '# BEGIN SOLUTION' inside the region opened on line 1: "
         r"regions cannot nest"),
        ("def f():\n    return 1\n",
         r"notebook cell 1: the cell is tagged 'solution' but holds no '# BEGIN SOLUTION'.*"
         r"wrap the lines"),
        ("def f():\n# BEGIN SOLUTION\n    return 1\n# END SOLUTION\n",
         r"notebook cell 1: the student version is not valid Python .*indent '# BEGIN SOLUTION'"),
    ],
    ids=["begin-without-end", "end-without-begin", "nested", "no-region", "bad-indent"],
)
def test_format_errors_in_solution_cells(source, match):
    nb = _notebook(v4.new_markdown_cell("intro"), _solution(source))
    with pytest.raises(ExerciseFormatError, match=match) as info:
        make_student_notebook(nb)
    assert info.value.cell_index == 1
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("marker", ["# BEGIN SOLUTION", "# END SOLUTION"])
def test_marker_in_untagged_cell_is_a_forgotten_tag(marker):
    nb = _notebook(v4.new_code_cell("x = 1"), v4.new_code_cell(f"def f():\n    {marker}\n    pass\n"))
    with pytest.raises(ExerciseFormatError,
                       match=rf"notebook cell 1, line 2: '{marker}' in a cell that is not tagged "
                             r"'solution'.*add the tag 'solution'"):
        make_student_notebook(nb)


def test_solution_tag_on_markdown_cell_is_an_error():
    cell = v4.new_markdown_cell("the answer", metadata={"tags": ["solution"]})
    with pytest.raises(ExerciseFormatError, match="notebook cell 0: a markdown cell is tagged"):
        make_student_notebook(_notebook(cell))


def test_magics_are_not_parsed():
    source = "%matplotlib inline\ndef f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
    student = make_student_notebook(_notebook(_solution(source)))
    assert student.cells[0].source.startswith("%matplotlib inline\ndef f():\n    raise ")


# --- the script --------------------------------------------------------------------------------------


@pytest.fixture()
def dirs(tmp_path):
    src, dst = tmp_path / "notebooks", tmp_path / "notebooks" / "student"
    src.mkdir()
    nbformat.write(_example_notebook(), src / "01_gan_maths.ipynb")
    nbformat.write(_notebook(v4.new_markdown_cell("no exercises")), src / "02_vanilla.ipynb")
    nbformat.write(_notebook(v4.new_code_cell("pass")), src / "scratch.ipynb")  # not a course notebook
    return _load_script(), src, dst


def test_script_generates_deterministic_files(dirs, capsys):
    script, src, dst = dirs
    assert script.main(["--src", str(src), "--dst", str(dst)]) == 0
    assert sorted(p.name for p in dst.iterdir()) == ["01_gan_maths.ipynb", "02_vanilla.ipynb"]
    first = (dst / "01_gan_maths.ipynb").read_bytes()
    assert first.endswith(b"}\n")
    out = capsys.readouterr().out
    assert f"wrote {dst / '01_gan_maths.ipynb'} (1 exercise)" in out
    assert f"wrote {dst / '02_vanilla.ipynb'} (0 exercises)" in out
    student = nbformat.reads(first.decode(), as_version=4)
    assert student.cells[2].source == D_LOSS_STUDENT
    assert student.metadata["gan_tutor"]["student"] is True

    assert script.main(["--src", str(src), "--dst", str(dst)]) == 0  # idempotent: same bytes
    assert (dst / "01_gan_maths.ipynb").read_bytes() == first
    assert "unchanged" in capsys.readouterr().out
    assert script.student_text(src / "01_gan_maths.ipynb").encode() == first


def test_check_passes_when_fresh_and_fails_on_drift(dirs, capsys):
    script, src, dst = dirs
    args = ["--src", str(src), "--dst", str(dst)]
    script.main(args)
    assert script.main(["--check", *args]) == 0
    capsys.readouterr()

    nb = nbformat.read(src / "01_gan_maths.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("# HINT: and", "# HINT: also,")
    nbformat.write(nb, src / "01_gan_maths.ipynb")
    before = (dst / "01_gan_maths.ipynb").read_bytes()
    assert script.main(["--check", *args]) == 1
    assert f"out of date: {dst / '01_gan_maths.ipynb'}" in capsys.readouterr().err
    assert (dst / "01_gan_maths.ipynb").read_bytes() == before  # --check writes nothing

    script.main(args)
    assert script.main(["--check", *args]) == 0


def test_check_fails_when_student_missing_or_orphaned(dirs, capsys):
    script, src, dst = dirs
    args = ["--src", str(src), "--dst", str(dst)]
    assert script.main(["--check", *args]) == 1  # nothing generated yet
    err = capsys.readouterr().err
    assert f"missing: {dst / '01_gan_maths.ipynb'}" in err and "02_vanilla" in err
    assert not dst.exists()

    script.main(args)
    (src / "02_vanilla.ipynb").unlink()
    assert script.main(["--check", *args]) == 1
    assert f"no solution notebook in {src} for: {dst / '02_vanilla.ipynb'}" in capsys.readouterr().err


def test_script_reports_format_error_with_path(dirs, capsys):
    script, src, dst = dirs
    nbformat.write(_notebook(_solution("x = 1\n")), src / "03_broken.ipynb")
    assert script.main(["--src", str(src), "--dst", str(dst)]) == 2
    err = capsys.readouterr().err
    assert "03_broken.ipynb: notebook cell 0: the cell is tagged 'solution'" in err
    assert not dst.exists()  # nothing written when any notebook is broken


def test_script_uses_the_package_logic():
    text = SCRIPT.read_text()
    assert "from gan_tutor.exercises import" in text
    assert "BEGIN SOLUTION" not in text.split('"""', 2)[2]  # no second copy of the convention

"""Student notebooks from solution notebooks: the course's exercise convention, written once.

The solution notebooks in ``notebooks/`` are the only hand-written source. An exercise is a code cell
whose metadata tags include ``"solution"``; inside it, the lines the learner writes sit between two
marker lines, indented like the code they replace::

    def d_loss(real_logits, fake_logits):
        \"\"\"Discriminator loss -[log D(x) + log(1 - D(G(z)))], averaged over the batch.\"\"\"
        # BEGIN SOLUTION
        # HINT: -log sigmoid(a) = softplus(-a) and -log(1 - sigmoid(a)) = softplus(a).
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        # END SOLUTION

:func:`make_student_notebook` replaces each region, markers included, by one line
``raise NotImplementedError("<hint>")`` at the indentation of its ``# BEGIN SOLUTION`` line. The hint
is the text after the ``# HINT:`` lines inside the region, joined with spaces (:data:`DEFAULT_HINT`
when there is none). The cell's tag ``solution`` becomes ``exercise``, every output is stripped, and
the notebook metadata gains ``{"gan_tutor": {"student": true}}``. A cell may hold several regions.

Mistakes in the markers are :class:`ExerciseFormatError` that name the cell and the fix: a
``BEGIN`` without ``END`` (or the reverse), nested regions, a ``solution`` cell without a region, and
markers in a cell that lacks the ``solution`` tag. ``scripts/make_student_notebooks.py`` writes the
student notebooks to ``notebooks/student/`` and, with ``--check``, fails CI when they drift.

Used by: ``scripts/make_student_notebooks.py`` and the notebook tests (every notebook).
"""

from __future__ import annotations

import ast
import copy
import re

from nbformat import NotebookNode, from_dict

from gan_tutor import course

__all__ = [
    "DEFAULT_HINT",
    "EXERCISE_TAG",
    "ExerciseFormatError",
    "SOLUTION_TAG",
    "count_exercises",
    "make_student_notebook",
    "strip_outputs",
]

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
BEGIN_MARKER = "# BEGIN SOLUTION"
END_MARKER = "# END SOLUTION"
DEFAULT_HINT = "Exercise: write this part, then run the check below."

# Markers are whole comment lines; spacing after '#' is forgiven, other text on the line is not, so
# "# END SOLUTION here" is not silently taken for a marker (it surfaces as a missing END instead).
_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)#[ \t]*BEGIN SOLUTION[ \t]*$")
_END_RE = re.compile(r"^[ \t]*#[ \t]*END SOLUTION[ \t]*$")
_HINT_RE = re.compile(r"^[ \t]*#[ \t]*HINT:(?P<text>.*)$")

# Cell metadata that records one run of a notebook (nbclient timings, papermill status): written on
# execution, never by hand, so it is stripped with the outputs (it would also break determinism).
_RUN_CELL_METADATA = ("execution", "papermill")
# Notebook metadata of the same kind: papermill's run record and saved ipywidgets state.
_RUN_NOTEBOOK_METADATA = ("papermill", "widgets")


class ExerciseFormatError(ValueError):
    """A solution notebook breaks the exercise convention; the message names the cell and the fix.

    ``cell_index`` is the 0-based index of the offending cell in ``nb.cells`` (as shown by
    ``nbformat`` and by JupyterLab's cell counter minus one), ``line`` the 1-based line in the cell.
    """

    def __init__(self, message: str, cell_index: int, line: int | None = None):
        where = f"notebook cell {cell_index}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")
        self.cell_index = cell_index
        self.line = line


def _source(cell: NotebookNode) -> str:
    """A cell's source as one string (nbformat allows a list of lines on disk)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _strip_line_end(line: str) -> tuple[str, str]:
    """Split ``line`` into its text and its line ending (``""``, ``"\\n"``, ``"\\r\\n"``)."""
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _py_string(text: str) -> str:
    """A Python string literal for ``text``, double-quoted where possible; always ``eval``-safe."""
    literal = repr(text)
    # repr() picks single quotes unless the text holds one; switch to the house style when the text
    # has no double quote (then the body has no unescaped quote of either kind).
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1] + '"'
    return literal


def _find_markers(source: str) -> list[tuple[str, int]]:
    """Every marker line in ``source`` as ``(kind, line_number)``, kind in {"begin", "end"}."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        if _BEGIN_RE.match(line):
            found.append(("begin", number))
        elif _END_RE.match(line):
            found.append(("end", number))
    return found


def _stub_source(source: str, cell_index: int) -> str:
    """``source`` with every solution region replaced by its ``raise NotImplementedError`` line."""
    out: list[str] = []
    region_indent: str | None = None  # set while inside a region
    region_start = 0
    hints: list[str] = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        body, ending = _strip_line_end(line)
        begin = _BEGIN_RE.match(body)
        if begin:
            if region_indent is not None:
                raise ExerciseFormatError(
                    f"'{BEGIN_MARKER}' inside the region opened on line {region_start}: regions "
                    f"cannot nest; add '{END_MARKER}' before this line or remove one of the two.",
                    cell_index,
                    number,
                )
            region_indent, region_start, hints = begin.group("indent"), number, []
        elif _END_RE.match(body):
            if region_indent is None:
                raise ExerciseFormatError(
                    f"'{END_MARKER}' without a '{BEGIN_MARKER}' above it: add '{BEGIN_MARKER}' "
                    "where the learner's part starts, or remove this line.",
                    cell_index,
                    number,
                )
            hint = " ".join(hints) if hints else DEFAULT_HINT
            out.append(f"{region_indent}raise NotImplementedError({_py_string(hint)}){ending}")
            region_indent = None
        elif region_indent is not None:
            match = _HINT_RE.match(body)
            if match and match.group("text").strip():
                hints.append(match.group("text").strip())
        else:
            out.append(line)
    if region_indent is not None:
        raise ExerciseFormatError(
            f"'{BEGIN_MARKER}' has no matching '{END_MARKER}': add '{END_MARKER}' after the "
            "last line of the solution, at the same indentation.",
            cell_index,
            region_start,
        )
    return "".join(out)


def _check_still_parses(solution: str, student: str, cell_index: int) -> None:
    """A stub must be valid Python wherever its solution is (cells with magics are not checked)."""
    try:
        ast.parse(solution)
    except SyntaxError:
        return  # IPython magics or shell escapes: Python cannot judge the cell, nor can we
    try:
        ast.parse(student)
    except SyntaxError as err:
        raise ExerciseFormatError(
            f"the student version is not valid Python ({err.msg}, line {err.lineno}): indent "
            f"'{BEGIN_MARKER}' exactly like the code it replaces, and keep whole statements inside "
            "the region.",
            cell_index,
        ) from None


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` without outputs: what is committed to the repository.

    Removes every code cell's outputs and execution count, and the metadata a run writes
    (cell ``execution``/``papermill``, notebook ``papermill``/``widgets``). ``nb`` is not changed, so
    ``strip_outputs(nb) == nb`` tests whether a notebook is clean.
    """
    clean = copy.deepcopy(nb)
    for cell in clean.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in _RUN_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    for key in _RUN_NOTEBOOK_METADATA:
        clean.metadata.pop(key, None)
    return clean


def make_student_notebook(nb: NotebookNode) -> NotebookNode:
    """The student version of solution notebook ``nb`` (``nb`` itself is not changed).

    Each ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region of a cell tagged ``solution`` becomes one
    ``raise NotImplementedError("<hint>")`` line at the BEGIN line's indentation; the tag becomes
    ``exercise``; all outputs are stripped (see :func:`strip_outputs`); the Colab badge in the first cell
    opens ``notebooks/student/`` instead of ``notebooks/``; other cells are unchanged; the notebook metadata gains ``{"gan_tutor": {"student": True}}``. A student notebook passes through
    unchanged, so the function is idempotent.

    Raises :class:`ExerciseFormatError` for unbalanced or nested markers, a ``solution`` cell
    without a region, markers in a cell not tagged ``solution``, and a stub that would not parse.
    """
    student = strip_outputs(nb)
    if student.cells and student.cells[0].get("cell_type") == "markdown":  # the Colab badge opens the student copy
        student.cells[0]["source"] = course.student_badges(_source(student.cells[0]))
    for index, cell in enumerate(student.cells):
        tags = _tags(cell)
        is_solution = SOLUTION_TAG in tags
        if cell.get("cell_type") != "code":
            if is_solution:
                raise ExerciseFormatError(
                    f"a {cell.get('cell_type')} cell is tagged '{SOLUTION_TAG}', but only code cells "
                    f"can be exercises: remove the tag.",
                    index,
                )
            continue  # markdown may quote the markers when it explains the convention
        source = _source(cell)
        markers = _find_markers(source)
        if not is_solution:
            if markers:
                kind, line = markers[0]
                marker = BEGIN_MARKER if kind == "begin" else END_MARKER
                raise ExerciseFormatError(
                    f"'{marker}' in a cell that is not tagged '{SOLUTION_TAG}', so the solution "
                    f"would reach the learners: add the tag '{SOLUTION_TAG}' to this cell "
                    "(JupyterLab: Property Inspector > Cell Tags).",
                    index,
                    line,
                )
            continue
        if not markers:
            raise ExerciseFormatError(
                f"the cell is tagged '{SOLUTION_TAG}' but holds no '{BEGIN_MARKER}' ... "
                f"'{END_MARKER}' region: wrap the lines the learner writes in the two markers, or "
                f"remove the '{SOLUTION_TAG}' tag.",
                index,
            )
        stub = _stub_source(source, index)
        _check_still_parses(source, stub, index)
        cell["source"] = stub
        new_tags = [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in tags]
        # Keep the tag order (diffs stay small) but never list "exercise" twice.
        cell["metadata"]["tags"] = list(dict.fromkeys(new_tags))
    marks = {**student.metadata.get("gan_tutor", {}), "student": True}
    student.metadata["gan_tutor"] = from_dict(marks)
    return student


def count_exercises(nb: NotebookNode) -> int:
    """Number of exercise cells: code cells tagged ``solution`` (solution notebook) or ``exercise``.

    A cell counts once however many regions it holds: run with errors allowed, a student notebook
    fails with ``NotImplementedError`` once per exercise cell, at its first stub.
    """
    return sum(
        1
        for cell in nb.cells
        if cell.get("cell_type") == "code" and {SOLUTION_TAG, EXERCISE_TAG} & set(_tags(cell))
    )

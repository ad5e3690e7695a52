"""Generate the student notebooks from the solution notebooks, or check that they have not drifted.

    python scripts/make_student_notebooks.py                 # write notebooks/student/NN_*.ipynb
    python scripts/make_student_notebooks.py --check         # write nothing; exit 1 on drift
    python scripts/make_student_notebooks.py --src DIR --dst DIR

Every ``[0-9][0-9]_*.ipynb`` in ``--src`` becomes ``--dst/<same name>``: solution regions become
``raise NotImplementedError("<hint>")`` stubs and all outputs are stripped (the convention and its
errors are in ``gan_tutor/exercises.py``, the only place that logic lives). Output is deterministic:
the same solution notebook always gives the same bytes, so the student notebooks are committed and
``--check`` compares them byte for byte.

Exit status: 0 when everything is written (or, with ``--check``, up to date); 1 with ``--check`` when
a student notebook is missing, differs from what would be generated, or has no solution notebook
left in ``--src``; 2 when a solution notebook breaks the exercise convention or a folder is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from gan_tutor.exercises import ExerciseFormatError, count_exercises, make_student_notebook

ROOT = Path(__file__).resolve().parent.parent
PATTERN = "[0-9][0-9]_*.ipynb"


def student_text(solution_path: Path) -> str:
    """The exact text of the student notebook generated from ``solution_path``."""
    nb = nbformat.read(solution_path, as_version=nbformat.NO_CONVERT)
    text = nbformat.writes(make_student_notebook(nb))
    # nbformat.write adds the newline that writes() leaves out; add it here so both agree.
    return text if text.endswith("\n") else text + "\n"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is missing or out of date")
    parser.add_argument("--src", type=Path, default=ROOT / "notebooks",
                        help="folder of solution notebooks (default: notebooks/)")
    parser.add_argument("--dst", type=Path, default=ROOT / "notebooks" / "student",
                        help="folder of student notebooks (default: notebooks/student/)")
    args = parser.parse_args(argv)

    if not args.src.is_dir():
        print(f"error: no folder {args.src}: pass --src with the solution notebooks' folder",
              file=sys.stderr)
        return 2
    sources = sorted(args.src.glob(PATTERN))

    generated: dict[Path, str] = {}
    for src in sources:
        try:
            generated[args.dst / src.name] = student_text(src)
        except ExerciseFormatError as err:
            print(f"error: {src}: {err}", file=sys.stderr)
            return 2

    names = {src.name for src in sources}
    orphans = sorted(p for p in args.dst.glob(PATTERN) if p.name not in names)

    if args.check:
        problems = []
        for dst, text in generated.items():
            committed = _read_text(dst)
            if committed is None:
                problems.append(f"missing: {dst}")
            elif committed != text:
                problems.append(f"out of date: {dst}")
        problems += [f"no solution notebook in {args.src} for: {p}" for p in orphans]
        if problems:
            print("student notebooks have drifted from the solution notebooks:", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            print("fix: python scripts/make_student_notebooks.py (and delete student notebooks "
                  "whose solution was removed), then commit notebooks/student/", file=sys.stderr)
            return 1
        print(f"{len(generated)} student notebook(s) up to date in {args.dst}")
        return 0

    if generated:
        args.dst.mkdir(parents=True, exist_ok=True)
    for dst, text in generated.items():
        if _read_text(dst) == text:
            print(f"unchanged {dst}")
            continue
        # Bytes, not text mode: no platform newline translation, so output is identical everywhere.
        dst.write_bytes(text.encode("utf-8"))
        n = count_exercises(nbformat.reads(text, as_version=nbformat.NO_CONVERT))
        print(f"wrote {dst} ({n} exercise{'s' if n != 1 else ''})")
    for p in orphans:
        print(f"warning: {p} has no solution notebook in {args.src}: delete it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

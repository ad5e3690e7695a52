"""Where the course lives and which version a notebook installs: written here once.

The repository's address and the package version appear in ``pyproject.toml``, in every notebook's Colab badge and
setup cell, and in the README's badges; ``tests/test_course.py`` keeps them all equal to the constants below. A
notebook installs the *tagged* version it was written for (``v`` + the version), never the moving default branch, and
its badge opens that same tag's copy of the notebook: the solution notebook from ``notebooks/``, the student one from
``notebooks/student/`` (``exercises.make_student_notebook`` points the student copies' badges there). Releasing: bump
``__version__`` and ``pyproject.toml``, update the places ``tests/test_course.py`` then names, regenerate the student
notebooks, commit, and tag the commit ``v<version>``.
"""

from __future__ import annotations

import re

from gan_tutor import __version__

REPOSITORY = "https://github.com/gan-tutor/gan-tutor"
VERSION = __version__
TAG = f"v{VERSION}"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"

# the setup cell's line that names the repository and version (the cell runs before the package is installed)
SETUP_LINE = re.compile(r'^REPOSITORY, VERSION = "(?P<repository>[^"]+)", "(?P<version>[^"]+)"', re.M)
# a Colab badge in markdown: [![Open In Colab](image)](https://colab.research.google.com/github/OWNER/NAME/blob/REF/PATH)
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\((?P<url>https://colab\.research\.google\.com/github/[^)]+)\)")


def github_path() -> str:
    """``owner/name`` of :data:`REPOSITORY`."""
    return REPOSITORY.removeprefix("https://github.com/").strip("/")


def colab_url(notebook: str, student: bool = False) -> str:
    """The Colab address that opens ``notebook`` (a file name such as ``04_conditional_gan.ipynb``) at this version's
    tag: the solution notebook, or with ``student`` its student version."""
    folder = "notebooks/student" if student else "notebooks"
    return f"https://colab.research.google.com/github/{github_path()}/blob/{TAG}/{folder}/{notebook}"


def badge(notebook: str, student: bool = False) -> str:
    """The markdown of the Colab badge for ``notebook`` (see :func:`colab_url`)."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(notebook, student)})"


def install_requirement() -> str:
    """What the setup cells give pip: this version's tag of the repository."""
    return f"gan-tutor @ git+{REPOSITORY}@{TAG}"


def setup_line() -> str:
    """The setup cell's first line of code, naming the repository and the version to install."""
    return f'REPOSITORY, VERSION = "{REPOSITORY}", "{VERSION}"'


# a Colab address of a solution notebook: .../blob/<ref>/notebooks/<name> (not yet .../notebooks/student/<name>)
_SOLUTION_ADDRESS = re.compile(r"(colab\.research\.google\.com/github/[^)\s]*?/blob/[^/)\s]+/notebooks/)(?!student/)")


def student_badges(markdown: str) -> str:
    """``markdown`` with every Colab address of a solution notebook turned into its student copy's
    (``notebooks/<name>`` -> ``notebooks/student/<name>``); addresses already there are left alone."""
    return _SOLUTION_ADDRESS.sub(r"\1student/", markdown)


def with_badge(markdown: str, notebook: str, student: bool = False) -> str:
    """``markdown`` with its Colab badge (there must be exactly one) pointing at ``notebook`` as :func:`badge` does."""
    found = BADGE.findall(markdown)
    if len(found) != 1:
        raise ValueError(f"expected one Colab badge in the first cell of {notebook}, found {len(found)}: "
                         f"start the notebook with its title, then {badge(notebook, student)}")
    return BADGE.sub(lambda _: badge(notebook, student), markdown)

"""The package's layout is its architecture: these tests fail when an import breaks it.

* Infrastructure (the machine, data, images, checkpoints, plots, checks, ...) imports only infrastructure.
* A notebook's topic module imports infrastructure and the topic modules of its own or earlier notebooks: a later
  notebook builds on an earlier one (the conditional GAN on the DCGAN), never the reverse, and never sideways
  through the training loop, the model registry or the CLI.
* The loop, the registry and the CLI sit on top.
* No import cycle anywhere in gan_tutor (imports inside functions count), and no module over 600 lines.

A new module must be placed in one of the tables below; CONTRIBUTING.md says where.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gan_tutor"

# module -> the notebook that teaches it (CONTRIBUTING.md: notebook NN on topic T adds gan_tutor/T.py)
TOPICS = {
    "gan_math": 1,
    "gan": 2, "gan_step": 2,
    "dcgan": 3, "augment": 3, "latent": 3,
    "cgan": 4,
    "vae": 5,
    "stylegan": 6, "stylegan_probes": 6,
    "features": 7,
    "stability": 8,
    "cyclegan": 9,
}
# written once, shared by every notebook
INFRASTRUCTURE = {"__init__", "env", "images", "config", "checkpoint", "download", "data", "toy_data", "selfcond",
                  "classifier", "metrics", "viz", "exercises", "checks", "course", "reference"}
# the loop, the registry, the command line
TOP = {"train", "models", "cli", "__main__", "diagrams", "pretrained", "stability_lab"}
MAX_LINES = 600


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return ".".join(rel.parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str) -> set[str]:
    """Every gan_tutor module ``path`` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gan_tutor")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .core import y
                parent = ("gan_tutor." + package).split(".")[: len(("gan_tutor." + package).split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if not base.startswith("gan_tutor"):
                continue
            for a in node.names:  # `from gan_tutor import dcgan` imports the module gan_tutor.dcgan
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}".removeprefix("gan_tutor.") in modules() else base)
    return {m.removeprefix("gan_tutor.").removeprefix("gan_tutor") or "__init__" for m in found} - {name}


def graph() -> dict[str, set[str]]:
    return {name: imports_of(path, name) for name, path in modules().items()}


def top_level(name: str) -> str:
    return name.split(".")[0]


def test_every_module_has_a_place():
    unplaced = sorted(n for n in modules() if top_level(n) not in TOPICS and top_level(n) not in INFRASTRUCTURE | TOP)
    assert not unplaced, f"place these modules in tests/test_layout.py (TOPICS, INFRASTRUCTURE or TOP): {unplaced}"


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        path.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                cycle = path[path.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m in g and not state.get(m):
                visit(m)
        path.pop()
        state[n] = 2

    for n in sorted(g):
        if not state.get(n):
            visit(n)


def violations(g: dict[str, set[str]]) -> list[str]:
    bad = []
    for name, deps in g.items():
        layer = top_level(name)
        for dep in sorted(deps):
            d = top_level(dep)
            if layer in INFRASTRUCTURE and d not in INFRASTRUCTURE:
                bad.append(f"infrastructure {name} imports {dep}: move what it needs down into infrastructure")
            elif layer in TOPICS:
                if d in TOP:
                    bad.append(f"notebook {TOPICS[layer]:02d}'s {name} imports {dep} (loop, registry or CLI)")
                elif d in TOPICS and TOPICS[d] > TOPICS[layer]:
                    bad.append(f"notebook {TOPICS[layer]:02d}'s {name} imports {dep}, taught later in notebook {TOPICS[d]:02d}")
    return bad


def test_layers_point_down():
    assert violations(graph()) == []


def test_the_rules_catch_what_they_forbid():
    """The checker itself: each forbidden edge, added to the real graph, is reported."""
    g = graph()
    for name, dep, words in [("dcgan", "cgan", "taught later in notebook 04"), ("stylegan", "train", "loop, registry or CLI"),
                             ("gan", "models", "loop, registry or CLI"), ("images", "dcgan", "infrastructure images imports dcgan")]:
        assert any(words in v for v in violations({**g, name: g[name] | {dep}})), (name, dep)


def test_no_module_is_too_long():
    long = {n: len(p.read_text().splitlines()) for n, p in modules().items()}
    assert {n: k for n, k in long.items() if k > MAX_LINES} == {}


def test_notebook_03_imports_nothing_of_notebook_04():
    import json
    import re

    nb = json.loads((PACKAGE.parent / "notebooks" / "03_dcgan.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert not re.search(r"\bcgan\b", code)

"""Where the project's own files are: the repository root and its demo data.

Notebooks resolve the demo data with these rather than the kernel's working directory, so a
notebook opened in ``notebooks/`` (as JupyterLab starts it) finds the same files as a report run
from the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "CAUSAL_KIT_ROOT"
_MARKERS = ("pyproject.toml", "notebooks")


def project_root() -> Path:
    """Return the causal_kit repository (the folder holding ``notebooks/`` and ``data/``).

    The ``CAUSAL_KIT_ROOT`` environment variable wins; else the folder above the imported
    package when it is a source checkout (``pip install -e .`` or ``PYTHONPATH``); else the
    nearest folder above the working directory that holds ``pyproject.toml`` and ``notebooks/``;
    else the working directory.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parents[2]
    if all((here / m).exists() for m in _MARKERS):
        return here
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if all((folder / m).exists() for m in _MARKERS):
            return folder
    return cwd


def demo_path(*parts: str) -> Path:
    """Return ``<project root>/data/demo/<parts...>`` (what ``make demo`` writes).

    Examples
    --------
    >>> ck.demo_path("staggered")  # doctest: +SKIP
    PosixPath('/path/to/causal_kit/data/demo/staggered')
    """
    return project_root().joinpath("data", "demo", *parts)

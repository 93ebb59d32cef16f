"""What a report records about itself: the inputs' fingerprint and the package versions.

What leadership reads never shows where the files sit on the server: :func:`without_server_paths`
turns every absolute path in parameters and notes into a path relative to the repository (or
``~/...`` under the home folder, or ``.../<folder>/<file>`` elsewhere).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from causal_kit.source.paths import project_root

# an absolute POSIX path not inside a URL ("http://x/y") or a word ("a/b")
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+=,-]+/)*[\w.@+=,-]+/?")

PACKAGES = (
    "causal_kit", "numpy", "pandas", "scipy", "duckdb", "narwhals", "polars", "pyarrow",
    "matplotlib", "seaborn", "papermill", "nbconvert",
)


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Return installed versions of ``names`` (``"not installed"`` where absent), plus Python's."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def fingerprint(paths: Iterable[str | Path]) -> str:
    """Return a SHA-256 over the contents of every file under ``paths`` (sorted, recursive).

    Parameters
    ----------
    paths
        Files or folders. A folder contributes every file below it, in sorted order, each with
        its relative name, so renaming or editing any input changes the fingerprint.
    """
    digest = hashlib.sha256()
    for root in sorted(Path(p) for p in paths):
        files = sorted(f for f in root.rglob("*") if f.is_file()) if root.is_dir() else [root]
        for f in files:
            rel = f.relative_to(root).as_posix() if root.is_dir() else f.name
            digest.update(rel.encode())
            with f.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
    return "sha256:" + digest.hexdigest()


def public_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as a report may show it: relative, never the server's absolute location.

    Inside the repository: relative to it (``data/demo/staggered``); under the home folder:
    ``~/...``; elsewhere: ``.../<parent>/<name>``. A relative path is returned as given.
    """
    text = os.fspath(path)
    if not text.startswith("/"):
        return text
    p = PurePosixPath(os.path.normpath(text))
    for base, prefix in ((project_root(), ""), (Path.home(), "~/")):
        try:
            rel = p.relative_to(PurePosixPath(base.resolve()))
        except ValueError:
            continue
        return prefix + (str(rel) if str(rel) != "." else "") or "."
    tail = p.parts[-2:] if len(p.parts) > 2 else p.parts[1:]
    return ".../" + "/".join(tail)


def without_server_paths(value: Any) -> Any:
    """Return ``value`` with every absolute path in its strings made public (recursively).

    Mappings, lists and tuples are rebuilt; other values are returned unchanged.
    """
    if isinstance(value, str):
        return _ABSOLUTE.sub(lambda m: public_path(m.group(0)), value)
    if isinstance(value, os.PathLike):
        return public_path(value)
    if isinstance(value, Mapping):
        return {k: without_server_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_server_paths(v) for v in value)
    return value

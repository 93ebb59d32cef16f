"""What a report records about itself: the inputs' fingerprint and the package versions."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "causal_kit", "numpy", "pandas", "scipy", "duckdb", "narwhals", "polars", "pyarrow",
    "matplotlib", "seaborn", "papermill", "nbconvert", "rdrobust", "rddensity",
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

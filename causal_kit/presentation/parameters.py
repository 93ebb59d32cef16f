"""A report notebook's typed parameters, read without starting papermill or a kernel.

A report notebook has one cell tagged ``parameters`` whose lines read ``name: type = value  #
what it is``. :func:`notebook_parameters` returns them in papermill's ``inspect_notebook`` format
(``name``, ``inferred_type_name``, ``default`` as source text, ``help``), parsed with the
standard library only, so ``causal-kit parameters`` answers at once.
"""

from __future__ import annotations

import io
import json
import os
import tokenize
from pathlib import Path
from typing import Any

from causal_kit.core.errors import SpecificationError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def find_notebook(name: str | os.PathLike[str]) -> Path:
    """Resolve a report notebook by path or by name in ``notebooks/``.

    Raises
    ------
    SpecificationError
        If no such notebook exists; the message lists the ones that do.
    """
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    stem = path.stem if path.suffix == ".ipynb" else str(name)
    folders = [Path.cwd() / "notebooks", NOTEBOOKS]
    for folder in folders:
        candidate = folder / f"{stem}.ipynb"
        if "/" not in stem and candidate.is_file():
            return candidate
    have = sorted({p.stem for f in folders if f.is_dir() for p in f.glob("*.ipynb")})
    raise SpecificationError(f"no report notebook {str(name)!r}; available: {have}.")


def notebook_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """Return the declared parameters of ``notebook`` (name → type, default, help).

    Raises
    ------
    SpecificationError
        If the notebook is not readable JSON.
    """
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise SpecificationError(f"cannot read notebook {str(notebook)!r}: {exc}") from exc
    for cell in cells:
        if "parameters" in (cell.get("metadata", {}).get("tags") or []):
            source = cell.get("source", "")
            return _parse("".join(source) if isinstance(source, list) else source)
    return {}


def _parse(source: str) -> dict[str, dict[str, Any]]:
    """Parse ``name: type = value  # help`` lines (untyped ``name = value`` lines too)."""
    found: dict[str, dict[str, Any]] = {}
    for line in source.splitlines():
        tokens = [t for t in _tokens(line) if t.type not in (tokenize.NL, tokenize.NEWLINE,
                                                              tokenize.ENDMARKER)]
        if len(tokens) < 3 or tokens[0].type != tokenize.NAME:
            continue
        comment = next((t.string for t in tokens if t.type == tokenize.COMMENT), "")
        body = line[: line.index(comment)] if comment else line
        name, _, rest = body.partition(":") if ":" in body.split("=", 1)[0] else (
            body.split("=", 1)[0], "", "=" + body.split("=", 1)[1])
        kind, _, default = rest.partition("=")
        found[name.strip()] = {
            "name": name.strip(),
            "inferred_type_name": kind.strip() or "None",
            "default": default.strip(),
            "help": comment.lstrip("#").strip(),
        }
    return found


def _tokens(line: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return []

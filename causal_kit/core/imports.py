"""Importing third-party packages without the optional parts that only slow them down."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

#: jsonschema builds the grammar of its optional IRI format checker when it is imported and
#: ``rfc3987_syntax`` is installed (about 1.7 s, in every process that imports jsonschema, e.g.
#: through papermill's nbformat). No schema of the kit checks the ``iri`` format.
SLOW_OPTIONAL = "rfc3987_syntax"


@contextmanager
def without(name: str) -> Iterator[None]:
    """Within the block, ``import name`` fails as if the module were not installed.

    Optional imports that other packages guard with ``except ImportError`` then skip it. When
    the block ends the module is importable again (nothing is changed for later imports); a
    module already imported is left alone.
    """
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def jsonschema() -> ModuleType:
    """Return the ``jsonschema`` module, imported without its IRI format checker."""
    with without(SLOW_OPTIONAL):
        import jsonschema as module
    return module

"""Layer: presentation — report notebooks' views, the report runner and the CLI.

Nothing here computes a statistic; it shows what the layers below returned. Names load on first
use, so a report kernel importing the views does not load the runner's papermill and nbformat.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Every public name → the module that defines it.
_EXPORTS: dict[str, str] = {
    "Report": "causal_kit.presentation.runner",
    "run_report": "causal_kit.presentation.runner",
    "fingerprint": "causal_kit.presentation.provenance",
    "package_versions": "causal_kit.presentation.provenance",
    "save_summary": "causal_kit.presentation.summary",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from causal_kit.presentation.provenance import fingerprint, package_versions
    from causal_kit.presentation.runner import Report, run_report
    from causal_kit.presentation.summary import save_summary


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'causal_kit.presentation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

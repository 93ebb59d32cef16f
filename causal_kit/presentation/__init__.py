"""Layer: presentation — report notebooks' views, the report runner and the CLI.

Nothing here computes a statistic; it shows what the layers below returned.
"""

from causal_kit.presentation.index import write_index
from causal_kit.presentation.provenance import fingerprint, package_versions
from causal_kit.presentation.runner import Report, run_report
from causal_kit.presentation.summary import save_summary

__all__ = ["Report", "fingerprint", "package_versions", "run_report", "save_summary", "write_index"]

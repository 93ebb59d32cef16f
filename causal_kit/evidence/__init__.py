"""Layer: evidence — what the kit knows about an estimate: through what, for whom, how sure."""

from causal_kit.evidence.cascade import Cascade, cascade
from causal_kit.evidence.scorecard import Scorecard, scorecard
from causal_kit.evidence.segments import Segments, by_segment
from causal_kit.evidence.triangulate import Triangulation, triangulate

__all__ = [
    "Cascade",
    "Scorecard",
    "Segments",
    "Triangulation",
    "by_segment",
    "cascade",
    "scorecard",
    "triangulate",
]

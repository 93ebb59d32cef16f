"""The headline effect by user segment, next to each segment's share of revenue.

A launch can gain on average and still lose on the segment that pays. The segment table puts
each segment's effect and interval beside its revenue share and flags the case where the segment
with the largest share of revenue loses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitError, DataError, SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.frames import to_pandas
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.evidence._designs import design_function


@dataclass(frozen=True)
class Segments(ShowsSummary):
    """Effects by segment with revenue shares.

    Attributes
    ----------
    table
        One row per segment: ``segment``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``,
        ``revenue_share``, ``moved`` (``"improved"``, ``"worsened"``, ``"flat"``).
    overall
        The pooled estimate, when given.
    paying_segment
        The segment with the largest revenue share.
    paying_segment_loses
        Whether that segment's effect points the harmful way.
    loss_is_clear
        Whether its whole interval is on the harmful side.
    estimates
        The segment estimates.
    message
        One plain-language sentence.
    """

    table: pd.DataFrame
    overall: Estimate | None
    paying_segment: str
    paying_segment_loses: bool
    loss_is_clear: bool
    estimates: Mapping[str, Estimate]
    message: str

    def summary(self) -> Rendered:
        """Return the table and the message as a printable view."""
        rows = [("Segment with most revenue", self.paying_segment)]
        if self.overall is not None:
            o = self.overall
            rows.append(
                ("Overall effect", f"{number(o.estimate)} [{number(o.ci[0])}, {number(o.ci[1])}]")
            )
        return Rendered("Effect by segment", rows, [("Segments", self.table)], [self.message])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        out = {
            "table": json_safe(self.table),
            "paying_segment": self.paying_segment,
            "paying_segment_loses": self.paying_segment_loses,
            "loss_is_clear": self.loss_is_clear,
            "message": self.message,
            "overall": None,
        }
        if self.overall is not None:
            o = self.overall
            out["overall"] = json_safe(
                {"estimate": o.estimate, "ci_low": o.ci[0], "ci_high": o.ci[1], "method": o.method}
            )
        return out


def by_segment(
    data: Any,
    *,
    segment: str | None = None,
    revenue: str | None = None,
    revenue_share: Mapping[str, float] | None = None,
    design: str | Callable[..., Estimate] = "did",
    overall: Estimate | None = None,
    lower_is_better: bool = False,
    **design_args: Any,
) -> Segments:
    """Estimate (or collect) the effect per segment and set it beside each segment's revenue.

    Two ways to call it:

    * ``by_segment(data, segment="tier", revenue="revenue", design="did", outcome=..., ...)``
      runs the design once per segment on the rows of that segment (``design_args`` go to the
      design) and takes each segment's revenue share from the ``revenue`` column (summed over
      all rows of the data), or from ``revenue_share``;
    * ``by_segment({"power": est_p, "casual": est_c}, revenue_share={"power": .8, ...})`` uses
      estimates you already have.

    Parameters
    ----------
    data
        A frame with a ``segment`` column, or a mapping segment → :class:`Estimate`.
    segment
        The segment column (frame input).
    revenue
        A revenue column to compute shares from (frame input).
    revenue_share
        Segment → share of revenue (normalised to sum to 1).
    design
        ``"did"``, ``"sc"``, ``"rdd"`` or a function returning an Estimate (frame input).
    overall
        The pooled estimate, shown beside the segments.
    lower_is_better
        Whether a decrease of the outcome is the improvement.
    **design_args
        Arguments of the design (``outcome``, ``unit``, ``time``, ``treatment``...).

    Returns
    -------
    Segments

    Raises
    ------
    SpecificationError
        Missing revenue shares or segment column; unknown segments in ``revenue_share``.
    DataError
        A segment where the design cannot run (the segment is named).
    """
    if isinstance(data, Mapping):
        if design_args or segment is not None or revenue is not None:
            raise SpecificationError(
                "with a mapping of estimates pass only revenue_share= (and overall=); segment=, "
                "revenue= and design arguments are for a data frame."
            )
        estimates = {str(k): v for k, v in data.items()}
        for k, v in estimates.items():
            if not isinstance(v, Estimate):
                raise SpecificationError(
                    f"segment {k!r} maps to a {type(v).__name__}, not an Estimate."
                )
        if revenue_share is None:
            raise SpecificationError(
                "pass revenue_share={segment: share} so the table can show who pays."
            )
        shares = _normalise(revenue_share, list(estimates))
    else:
        if segment is None:
            raise SpecificationError("pass segment= (the column that holds each row's segment).")
        estimates, shares = _run(data, segment, revenue, revenue_share, design, design_args)
    if len(estimates) < 2:
        raise SpecificationError(f"by_segment needs two or more segments; got {list(estimates)}.")
    return _table(estimates, shares, overall, -1.0 if lower_is_better else 1.0)


def _normalise(share: Mapping[str, float], segments: list[str]) -> dict[str, float]:
    given = {str(k): float(v) for k, v in share.items()}
    missing = [s for s in segments if s not in given]
    extra = [s for s in given if s not in segments]
    if missing or extra:
        raise SpecificationError(
            f"revenue_share must name exactly the segments {segments}; missing {missing}, "
            f"unknown {extra}."
        )
    values = np.array([given[s] for s in segments])
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() <= 0:
        raise SpecificationError(
            f"revenue shares must be finite, ≥ 0 and not all zero; got {given}."
        )
    return {s: float(v) for s, v in zip(segments, values / values.sum(), strict=True)}


def _run(
    data: Any,
    segment: str,
    revenue: str | None,
    revenue_share: Mapping[str, float] | None,
    design: str | Callable[..., Estimate],
    args: Mapping[str, Any],
) -> tuple[dict[str, Estimate], dict[str, float]]:
    frame = to_pandas(data, what="data")
    if segment not in frame.columns:
        to_pandas(frame, [segment], what="data")  # raises the standard missing-column error
    if frame[segment].isna().any():
        raise DataError(
            f"segment column {segment!r} has {int(frame[segment].isna().sum())} missing value(s); "
            "fill them (e.g. 'unknown') or drop those rows."
        )
    fn = design if callable(design) else design_function(design)
    labels = sorted(frame[segment].unique(), key=str)
    estimates: dict[str, Estimate] = {}
    for label in labels:
        part = frame.loc[frame[segment] == label].drop(columns=[segment])
        try:
            est = fn(part, **args)
        except CausalKitError as exc:
            raise DataError(f"segment {segment}={label!r}: {exc}") from exc
        estimates[str(label)] = est
    if revenue_share is not None:
        shares = _normalise(revenue_share, list(estimates))
    elif revenue is not None:
        col = to_pandas(frame, [segment, revenue], what="data")
        if not pd.api.types.is_numeric_dtype(col[revenue]):
            raise DataError(
                f"revenue column {revenue!r} must be numeric; it is {col[revenue].dtype}."
            )
        sums = col.groupby(col[segment].astype(str))[revenue].sum()
        shares = _normalise({str(k): float(v) for k, v in sums.items()}, list(estimates))
    else:
        raise SpecificationError(
            "pass revenue= (a revenue column) or revenue_share={segment: share} so the table can "
            "show who pays."
        )
    return estimates, shares


def _table(
    estimates: Mapping[str, Estimate],
    shares: Mapping[str, float],
    overall: Estimate | None,
    sign: float,
) -> Segments:
    rows = []
    for name, est in estimates.items():
        lo, hi = sorted((sign * float(est.ci[0]), sign * float(est.ci[1])))
        moved = "improved" if lo > 0 else ("worsened" if hi < 0 else "flat")
        rows.append(
            {
                "segment": name,
                "estimate": float(est.estimate),
                "ci_low": float(est.ci[0]),
                "ci_high": float(est.ci[1]),
                "p_value": float(est.p_value),
                "revenue_share": shares[name],
                "moved": moved,
            }
        )
    table = pd.DataFrame(rows).sort_values("revenue_share", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    top = table.iloc[0]
    payer = str(top["segment"])
    loses = sign * float(top["estimate"]) < 0
    clear = top["moved"] == "worsened"
    share = f"{float(top['revenue_share']):.0%}"
    who = f"the segment that pays most ({payer}, {share} of revenue)"
    effect = (
        f"{number(float(top['estimate']))} "
        f"[{number(float(top['ci_low']))}, {number(float(top['ci_high']))}]"
    )
    if clear:
        msg = f"{who} clearly loses: {effect}."
    elif loses:
        msg = f"{who} may lose: {effect}, though its interval includes zero."
    else:
        msg = f"{who} does not lose: {effect}."
    if overall is not None and math.isfinite(overall.estimate) and loses:
        gains = sign * overall.estimate > 0
        msg = f"On average the launch {'gains' if gains else 'does not gain'} " \
              f"({number(overall.estimate)}), but {msg}"
    msg = msg[0].upper() + msg[1:]
    return Segments(
        table=table,
        overall=overall,
        paying_segment=payer,
        paying_segment_loses=bool(loses),
        loss_is_clear=bool(clear),
        estimates=dict(estimates),
        message=msg,
    )

"""The numeric sample an RD fit works on: both sides of the cutoff, sorted and centred."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from causal_kit.design.rdd._locpoly import n_distinct


@dataclass(frozen=True)
class Sample:
    """Observations on each side of the cutoff.

    Attributes
    ----------
    xl, xr
        Running variable minus the cutoff, sorted ascending; ``xl < 0 <= xr``.
    dl, dr
        ``(n, k)`` columns: the outcome, then the take-up (fuzzy designs), then covariates.
    cl, cr
        Integer cluster codes, or ``None``.
    fuzzy
        Whether column 1 is a take-up column.
    n_covs
        Number of covariate columns at the end.
    nn_cache
        Nearest-neighbour residuals already computed, by side and window (they depend only on
        the window's observations, so the bandwidth search and the fit share them).
    """

    xl: np.ndarray
    xr: np.ndarray
    dl: np.ndarray
    dr: np.ndarray
    cl: np.ndarray | None
    cr: np.ndarray | None
    fuzzy: bool = False
    n_covs: int = 0
    nn_cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_left(self) -> int:
        """Observations below the cutoff."""
        return len(self.xl)

    @property
    def n_right(self) -> int:
        """Observations at or above the cutoff."""
        return len(self.xr)

    @property
    def distinct(self) -> tuple[int, int]:
        """Distinct running-variable values on each side."""
        return n_distinct(self.xl), n_distinct(self.xr)

    @property
    def clustered(self) -> bool:
        """Whether cluster codes are present."""
        return self.cl is not None

    def with_columns(self, dl: np.ndarray, dr: np.ndarray, *, fuzzy: bool = False,
                     n_covs: int = 0) -> Sample:
        """Return the same running variable and clusters with other outcome columns."""
        return Sample(self.xl, self.xr, dl, dr, self.cl, self.cr, fuzzy, n_covs)

    def shifted(self, side: str, cutoff: float) -> Sample:
        """Return one side's observations split at ``cutoff`` (centred units): a placebo sample."""
        x, d, c = (self.xl, self.dl, self.cl) if side == "left" else (self.xr, self.dr, self.cr)
        cut = int(np.searchsorted(x, cutoff, side="left"))
        xs = x - cutoff
        return Sample(
            xs[:cut], xs[cut:], d[:cut], d[cut:],
            None if c is None else c[:cut], None if c is None else c[cut:],
            self.fuzzy, self.n_covs,
        )

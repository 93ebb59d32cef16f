"""Two-group, two-period DiD estimators with covariates (Sant'Anna & Zhao 2020).

Outcome regression (``"reg"``), standardized inverse probability weighting (``"ipw"``) and the
doubly robust estimator (``"dr"``), for panels (on the outcome change ``dy``) and for repeated
cross-sections (on ``y`` with a ``post`` flag; the locally efficient DR). Each returns the ATT and
its influence function on the rows given (mean zero; ``var = mean(inf**2) / n``). ``X`` includes
the intercept. These are the building blocks of Callaway & Sant'Anna's ATT(g,t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from causal_kit.core.errors import ConvergenceError, DataError

TRIM = 0.995  # comparison units with a propensity score above this get no weight


@dataclass(frozen=True)
class Logit:
    """A fitted propensity score: fitted probabilities and the influence map of its coefficients."""

    p: np.ndarray
    lin_rep: np.ndarray  # (n, k): asymptotic linear representation of the coefficients


def fit_logit(d: np.ndarray, X: np.ndarray, *, tol: float = 1e-10, max_iter: int = 100) -> Logit:
    """Fit ``P(d = 1 | X)`` by Newton–Raphson.

    Raises
    ------
    ConvergenceError
        When the fit diverges (perfect separation) or does not converge.
    """
    n, k = X.shape
    beta = np.zeros(k)
    mean_d = float(d.mean())
    beta[0] = np.log(mean_d / (1 - mean_d))
    for _ in range(max_iter):
        eta = np.clip(X @ beta, -35, 35)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p)
        H = (X * w[:, None]).T @ X
        grad = X.T @ (d - p)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError as exc:
            raise DataError(
                "the propensity-score covariates are collinear or do not vary in this comparison; "
                "drop the offending covariate."
            ) from exc
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
        if np.max(np.abs(beta)) > 30:
            raise ConvergenceError(
                "the propensity score perfectly separates treated and comparison units (no "
                "overlap); use fewer covariates, est_method='reg', or a different comparison group."
            )
    else:
        raise ConvergenceError(f"the propensity-score logit did not converge in {max_iter} steps.")
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    p = np.clip(p, 1e-6, 1 - 1e-6)
    W = p * (1 - p)
    hess_inv = np.linalg.inv((X * W[:, None]).T @ X) * n
    lin_rep = ((d - p)[:, None] * X) @ hess_inv
    return Logit(p=p, lin_rep=lin_rep)


def _ols_rep(
    y: np.ndarray, X: np.ndarray, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fit OLS of ``y`` on ``X`` over ``rows``; return fitted values and linear representation."""
    Xr = X[rows]
    gram = Xr.T @ Xr
    if np.linalg.cond(gram) > 1e15:
        raise DataError(
            "the outcome-regression covariates are collinear or do not vary among the comparison "
            "units of this comparison; drop the offending covariate."
        )
    beta = np.linalg.solve(gram, Xr.T @ y[rows])
    fitted = X @ beta
    resid = np.where(rows, y - fitted, 0.0)
    lin_rep = (resid[:, None] * X) @ np.linalg.inv(gram / n)
    return fitted, lin_rep


def panel_att(
    dy: np.ndarray, d: np.ndarray, X: np.ndarray, method: str, ps: Logit | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ATTs and influence functions on a balanced two-period panel, for several outcomes.

    The estimators are linear in the outcome change once the propensity score is fixed, so
    every period compared with the same units and covariates is handled in one pass.

    Parameters
    ----------
    dy
        ``(n,)`` or ``(n, m)`` outcome changes (one column per comparison).
    d
        1 for the treated cohort, 0 for comparison units.
    X
        Covariates at the base period, intercept first.
    method
        ``"dr"``, ``"ipw"`` or ``"reg"``.
    ps
        A propensity score already fitted on the same ``d`` and ``X`` (reused across periods).

    Returns
    -------
    att, inf
        ``(m,)`` estimates and ``(n, m)`` influence functions (``(n,)`` for a 1-D ``dy``).
    """
    flat = dy.ndim == 1
    DY = dy[:, None] if flat else dy
    n = len(d)
    df = d.astype(float)
    ctrl = d == 0
    if method == "ipw":
        att, inf = _ipw_panel(DY, df, ctrl, X, ps if ps is not None else fit_logit(df, X), n)
    else:
        Xc = X[ctrl]
        gram = Xc.T @ Xc
        if np.linalg.cond(gram) > 1e15:
            raise DataError(
                "the outcome-regression covariates are collinear or do not vary among the "
                "comparison units of this comparison; drop the offending covariate."
            )
        ginv = np.linalg.inv(gram / n)
        B = np.linalg.solve(gram, Xc.T @ DY[ctrl])
        F = X @ B  # fitted outcome changes
        R = DY - F
        Rc = R * ctrl[:, None]  # control residuals (the OLS scores' weights)
        if method == "reg":
            mw = df.mean()
            eta_t = (df @ DY) / df.sum()
            eta_c = (df @ F) / df.sum()
            u = X @ (ginv @ (df[:, None] * X).mean(0))
            inf_t = (df[:, None] * (DY - eta_t)) / mw
            inf_c = (df[:, None] * (F - eta_c) + Rc * u[:, None]) / mw
            att, inf = eta_t - eta_c, inf_t - inf_c
        else:
            att, inf = _dr_panel(
                R, Rc, df, ctrl, X, ginv, ps if ps is not None else fit_logit(df, X), n
            )
    return (att, inf[:, 0]) if flat else (att, inf)


def dr_panel_blocks(
    DY: np.ndarray, n_t: int, X: np.ndarray, ps: Logit, *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Doubly robust panel ATTs and influence functions, treated rows first (fast path).

    Same estimator as ``panel_att(..., "dr")``, organised by blocks: treated and comparison rows
    are handled separately (each term is zero on the other block) and updated in place, so the
    ``rows × comparisons`` arrays are touched a handful of times. ``DY`` is overwritten with
    the influence functions (pass a column-major array to avoid a copy); ``scale`` multiplies
    them.
    """
    n = len(X)
    Xt, Xc = X[:n_t], X[n_t:]
    p_c = ps.p[n_t:]
    w_c = np.where(p_c < TRIM, p_c / (1 - p_c), 0.0)
    if w_c.sum() == 0:
        raise DataError(
            "every comparison unit has a propensity score above 0.995 (no overlap); use fewer "
            "covariates or est_method='reg'."
        )
    gram = Xc.T @ Xc
    if np.linalg.cond(gram) > 1e15:
        raise DataError(
            "the outcome-regression covariates are collinear or do not vary among the "
            "comparison units of this comparison; drop the offending covariate."
        )
    ginv = np.linalg.inv(gram / n)
    B = np.linalg.solve(gram, Xc.T @ DY[n_t:])
    R = DY if DY.flags.f_contiguous else np.asfortranarray(DY)  # updated in place
    for j in range(R.shape[1]):  # comparison-regression residuals, column by column
        R[:, j] -= X @ B[:, j]
    Rt, Rc = R[:n_t], R[n_t:]
    mw_t, mw_c = n_t / n, w_c.sum() / n
    eta_t = Rt.mean(axis=0)
    eta_c = (w_c @ Rc) / w_c.sum()
    u_t = Xc @ (ginv @ (Xt.sum(axis=0) / n))
    u_c = Xc @ (ginv @ ((w_c[:, None] * Xc).sum(axis=0) / n))
    # X' lead / n with lead = w_c (Rc - eta_c) on comparison rows
    xlead = ((Xc * w_c[:, None]).T @ Rc - np.outer(Xc.T @ w_c, eta_c)) / n
    corr_coef = xlead / mw_c  # the propensity-score term is lin_rep @ corr_coef
    s = (u_c / mw_c - u_t / mw_t - w_c / mw_c) * scale
    wc = w_c / mw_c * scale
    rep_t, rep_c = ps.lin_rep[:n_t], ps.lin_rep[n_t:]
    for j in range(R.shape[1]):  # column by column: no rows × comparisons temporaries
        col = Rc[:, j]
        col *= s
        col += wc * eta_c[j] - scale * (rep_c @ corr_coef[:, j])
        col = Rt[:, j]
        col -= eta_t[j]
        col *= scale / mw_t
        col -= scale * (rep_t @ corr_coef[:, j])
    return eta_t - eta_c, R


def _weights(df: np.ndarray, ctrl: np.ndarray, ps: Logit) -> tuple[np.ndarray, np.ndarray]:
    p = ps.p
    keep = np.where(ctrl, p < TRIM, True)
    w_t = keep * df
    w_c = keep * p * (1 - df) / (1 - p)
    if w_c.mean() == 0:
        raise DataError(
            "every comparison unit has a propensity score above 0.995 (no overlap); use fewer "
            "covariates or est_method='reg'."
        )
    return w_t, w_c


def _dr_panel(
    R: np.ndarray,
    Rc: np.ndarray,
    df: np.ndarray,
    ctrl: np.ndarray,
    X: np.ndarray,
    ginv: np.ndarray,
    ps: Logit,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    w_t, w_c = _weights(df, ctrl, ps)
    mw_t, mw_c = w_t.mean(), w_c.mean()
    eta_t = (w_t @ R) / w_t.sum()
    eta_c = (w_c @ R) / w_c.sum()
    u_t = X @ (ginv @ (w_t[:, None] * X).mean(0))
    u_c = X @ (ginv @ (w_c[:, None] * X).mean(0))
    inf_t = (w_t[:, None] * (R - eta_t) - Rc * u_t[:, None]) / mw_t
    lead = w_c[:, None] * (R - eta_c)
    inf_c = (lead + ps.lin_rep @ (X.T @ lead / n) - Rc * u_c[:, None]) / mw_c
    return eta_t - eta_c, inf_t - inf_c


def _ipw_panel(
    DY: np.ndarray, df: np.ndarray, ctrl: np.ndarray, X: np.ndarray, ps: Logit, n: int
) -> tuple[np.ndarray, np.ndarray]:
    w_t, w_c = _weights(df, ctrl, ps)
    mw_t, mw_c = w_t.mean(), w_c.mean()
    att_t = (w_t @ DY) / w_t.sum()
    att_c = (w_c @ DY) / w_c.sum()
    inf_t = w_t[:, None] * (DY - att_t) / mw_t
    lead = w_c[:, None] * (DY - att_c)
    inf_c = lead / mw_c + ps.lin_rep @ (X.T @ lead / n / mw_c)
    return att_t - att_c, inf_t - inf_c


def rc_att(
    y: np.ndarray, post: np.ndarray, d: np.ndarray, X: np.ndarray, method: str
) -> tuple[float, np.ndarray]:
    """ATT and influence function on repeated cross-sections (two periods, ``post`` 0/1).

    ``"dr"`` is the locally efficient doubly robust estimator of Sant'Anna & Zhao (2020).
    """
    n = len(y)
    df = d.astype(float)
    pf = post.astype(float)
    ctrl = d == 0
    if method == "reg":
        f_pre, rep_pre = _ols_rep(y, X, ctrl & (post == 0), n)
        f_post, rep_post = _ols_rep(y, X, ctrl & (post == 1), n)
        w_tpre, w_tpost, w_c = df * (1 - pf), df * pf, df
        e_tpre = (w_tpre * y).mean() / w_tpre.mean()
        e_tpost = (w_tpost * y).mean() / w_tpost.mean()
        cont = w_c * (f_post - f_pre)
        e_c = cont.mean() / w_c.mean()
        inf_t = (w_tpost * y - w_tpost * e_tpost) / w_tpost.mean() - (
            w_tpre * y - w_tpre * e_tpre
        ) / w_tpre.mean()
        der = (w_c[:, None] * X).mean(0)
        inf_c = (cont - w_c * e_c + rep_post @ der - rep_pre @ der) / w_c.mean()
        return float((e_tpost - e_tpre) - e_c), inf_t - inf_c
    ps = fit_logit(df, X)
    p = ps.p
    keep = np.where(ctrl, p < TRIM, True)
    w_tpre = keep * df * (1 - pf)
    w_tpost = keep * df * pf
    odds = p / (1 - p)
    w_cpre = keep * odds * (1 - df) * (1 - pf)
    w_cpost = keep * odds * (1 - df) * pf
    for w, what in ((w_cpre, "pre"), (w_cpost, "post")):
        if w.mean() == 0:
            raise DataError(
                f"no comparison observation keeps weight in the {what}-period (no overlap); use "
                "fewer covariates or est_method='reg'."
            )
    if method == "ipw":

        def part(w: np.ndarray) -> tuple[np.ndarray, float]:
            eta = w * y / w.mean()
            return eta, float(eta.mean())

        (et_pre, at_pre), (et_post, at_post) = part(w_tpre), part(w_tpost)
        (ec_pre, ac_pre), (ec_post, ac_post) = part(w_cpre), part(w_cpost)
        inf_t = (et_post - w_tpost * at_post / w_tpost.mean()) - (
            et_pre - w_tpre * at_pre / w_tpre.mean()
        )
        inf_c = (ec_post - w_cpost * ac_post / w_cpost.mean()) - (
            ec_pre - w_cpre * ac_pre / w_cpre.mean()
        )
        m_pre = ((w_cpre * (y - ac_pre))[:, None] * X).mean(0) / w_cpre.mean()
        m_post = ((w_cpost * (y - ac_post))[:, None] * X).mean(0) / w_cpost.mean()
        inf_c = inf_c + ps.lin_rep @ (m_post - m_pre)
        return float((at_post - at_pre) - (ac_post - ac_pre)), inf_t - inf_c
    return _dr_rc(y, pf, df, X, ps, keep, n)


def _dr_rc(
    y: np.ndarray,
    pf: np.ndarray,
    df: np.ndarray,
    X: np.ndarray,
    ps: Logit,
    keep: np.ndarray,
    n: int,
) -> tuple[float, np.ndarray]:
    ctrl, treat = df == 0, df == 1
    pre, postb = pf == 0, pf == 1
    f_cpre, r_cpre = _ols_rep(y, X, ctrl & pre, n)
    f_cpost, r_cpost = _ols_rep(y, X, ctrl & postb, n)
    f_tpre, r_tpre = _ols_rep(y, X, treat & pre, n)
    f_tpost, r_tpost = _ols_rep(y, X, treat & postb, n)
    f_c = pf * f_cpost + (1 - pf) * f_cpre
    p = ps.p
    odds = p / (1 - p)
    w = {
        "tpre": keep * df * (1 - pf),
        "tpost": keep * df * pf,
        "cpre": keep * odds * (1 - df) * (1 - pf),
        "cpost": keep * odds * (1 - df) * pf,
        "d": keep * df,
        "dt1": keep * df * pf,
        "dt0": keep * df * (1 - pf),
    }
    m = {k: float(v.mean()) for k, v in w.items()}
    res = y - f_c
    eta = {
        "tpre": w["tpre"] * res / m["tpre"],
        "tpost": w["tpost"] * res / m["tpost"],
        "cpre": w["cpre"] * res / m["cpre"],
        "cpost": w["cpost"] * res / m["cpost"],
        "d_post": w["d"] * (f_tpost - f_cpost) / m["d"],
        "dt1_post": w["dt1"] * (f_tpost - f_cpost) / m["dt1"],
        "d_pre": w["d"] * (f_tpre - f_cpre) / m["d"],
        "dt0_pre": w["dt0"] * (f_tpre - f_cpre) / m["dt0"],
    }
    a = {k: float(v.mean()) for k, v in eta.items()}
    att = (
        (a["tpost"] - a["tpre"])
        - (a["cpost"] - a["cpre"])
        + (a["d_post"] - a["dt1_post"])
        - (a["d_pre"] - a["dt0_pre"])
    )

    def mean_x(v: np.ndarray) -> np.ndarray:
        return (v[:, None] * X).mean(0)

    inf_tpre = eta["tpre"] - w["tpre"] * a["tpre"] / m["tpre"]
    inf_tpost = eta["tpost"] - w["tpost"] * a["tpost"] / m["tpost"]
    inf_t_or = r_cpost @ (-mean_x(w["tpost"] * pf) / m["tpost"]) + r_cpre @ (
        -mean_x(w["tpre"] * (1 - pf)) / m["tpre"]
    )
    inf_treat = inf_tpost - inf_tpre + inf_t_or
    inf_cpre = eta["cpre"] - w["cpre"] * a["cpre"] / m["cpre"]
    inf_cpost = eta["cpost"] - w["cpost"] * a["cpost"] / m["cpost"]
    mom_pre = mean_x(w["cpre"] * (res - a["cpre"])) / m["cpre"]
    mom_post = mean_x(w["cpost"] * (res - a["cpost"])) / m["cpost"]
    inf_c_ps = ps.lin_rep @ (mom_post - mom_pre)
    inf_c_or = r_cpost @ (-mean_x(w["cpost"] * pf) / m["cpost"]) + r_cpre @ (
        -mean_x(w["cpre"] * (1 - pf)) / m["cpre"]
    )
    inf_cont = inf_cpost - inf_cpre + inf_c_ps + inf_c_or
    inf_eff = (
        (eta["d_post"] - w["d"] * a["d_post"] / m["d"])
        - (eta["dt1_post"] - w["dt1"] * a["dt1_post"] / m["dt1"])
        - (eta["d_pre"] - w["d"] * a["d_pre"] / m["d"])
        + (eta["dt0_pre"] - w["dt0"] * a["dt0_pre"] / m["dt0"])
    )
    mom_post2 = mean_x(w["d"] / m["d"] - w["dt1"] / m["dt1"])
    mom_pre2 = mean_x(w["d"] / m["d"] - w["dt0"] / m["dt0"])
    inf_or = (r_tpost - r_cpost) @ mom_post2 - (r_tpre - r_cpre) @ mom_pre2
    return float(att), inf_treat - inf_cont + inf_eff + inf_or

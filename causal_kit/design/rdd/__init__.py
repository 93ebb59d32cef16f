"""Regression discontinuity: sharp, fuzzy and in time, with rdrobust-grade inference and checks."""

from causal_kit.design.rdd.api import rdd
from causal_kit.design.rdd.plots import plot_bandwidth, plot_density, plot_rd

__all__ = ["plot_bandwidth", "plot_density", "plot_rd", "rdd"]

"""Synthetic control family: Abadie SC, augmented SC and synthetic difference-in-differences."""

from causal_kit.design.synth.api import synthetic_control
from causal_kit.design.synth.plots import plot_gaps, plot_paths, plot_placebos, plot_weights

__all__ = ["plot_gaps", "plot_paths", "plot_placebos", "plot_weights", "synthetic_control"]

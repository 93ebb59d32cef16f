"""Layer: design — one estimator family per subpackage.

Each takes a panel (or unit-level frame) and returns an :class:`~causal_kit.Estimate`.
"""

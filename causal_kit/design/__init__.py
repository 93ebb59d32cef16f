"""Layer: design — one estimator family per subpackage; each takes a panel or unit-level frame and returns an Estimate."""

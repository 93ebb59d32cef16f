"""Layer: metrics."""

"""Layer: source."""

"""Layer: presentation."""

"""Layer: business."""

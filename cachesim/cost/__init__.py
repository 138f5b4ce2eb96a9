"""Time and size: the cost model, its default figures, and calibration from real build logs."""

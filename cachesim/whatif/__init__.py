"""What-if questions about real projects: what an edit rebuilds, a history replayed, a pull
request checked, a rewrite suggested, a grid of variants swept."""

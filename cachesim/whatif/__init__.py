"""What-if questions on real projects: a folder or a git history instead of a YAML scenario."""

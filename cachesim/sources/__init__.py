"""Where builds come from: a scenario file today, a git history later."""

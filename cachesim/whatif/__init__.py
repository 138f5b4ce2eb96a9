"""What-if analyses on real projects (issue 9): suggestions, sweeps."""

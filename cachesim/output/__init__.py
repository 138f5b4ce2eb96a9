"""Printing and drawing predictions: text, JSON, plots, the cache board, exercise checks."""

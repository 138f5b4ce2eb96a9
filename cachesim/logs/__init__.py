"""Reading what a real docker build printed: pure functions from log text to steps."""

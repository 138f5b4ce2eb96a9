"""The cachesim command line and the classroom demo."""

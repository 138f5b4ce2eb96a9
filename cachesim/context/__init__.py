"""The build context: a snapshot of files, what .dockerignore keeps out, what a source selects."""

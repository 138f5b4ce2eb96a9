"""Reading a Dockerfile with BuildKit's own parser, and expanding variables in its words."""

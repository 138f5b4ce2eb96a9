"""The builders (BuildKit and the classic builder): each step's cache key, what it writes."""

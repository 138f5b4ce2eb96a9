"""The simulation loop: builds against one cache that remembers them all; why steps miss."""

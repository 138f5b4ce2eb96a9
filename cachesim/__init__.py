"""cachesim: predict what Docker's build cache reuses and rebuilds, and why.

The pipeline mirrors BuildKit's own: ``dockerfile`` (parse, expand variables) ->
``context`` (the build context as a snapshot) -> ``graph`` (stages and steps) ->
``buildkit`` / ``legacy`` (cache keys against a cache that remembers every build) ->
``report`` (text and JSON). ``engine`` runs the same scenarios on a real Docker engine.
"""

__version__ = "0.1.0"

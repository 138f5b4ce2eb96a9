"""The shared vocabulary every layer speaks: errors, engine versions, wording, result types."""

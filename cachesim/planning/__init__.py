"""Planning a build: stages linked into a graph, each instruction with the state it sees."""

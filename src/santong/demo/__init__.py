"""The demo: a deterministic synthetic population and the one-command setup `santong demo`."""

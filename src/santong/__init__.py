"""santong: a region's education informatization platform (三通两平台)."""

__version__ = "0.1.0"

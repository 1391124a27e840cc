"""Fair Reply: measures how fast companies answer complaints, per audience tier."""

__version__ = "0.1.0"

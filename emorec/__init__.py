"""emorec: a benchmark suite for audio-visual continuous emotion recognition."""

__version__ = "0.1.0"

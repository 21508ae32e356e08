"""The words every layer shares: targets, partitions, origins, stand-in kinds and sizes."""

from __future__ import annotations

TARGETS = ("valence", "arousal")          # the order of every (n, 2) label or prediction array
PARTITIONS = ("train", "dev", "test")
SCORED_PARTITIONS = ("dev", "test")       # every cell is scored on these (test only to report)
ORIGINS = ("real", "stand-in")
STAND_IN_KINDS = ("sewa", "afew-va")
STAND_IN_SIZES = ("full", "small", "tiny")

"""Rows recorded: the one recorder of every results row's records, fitted or derived
(:mod:`.recorder`), and the rows made from kept predictions rather than a fit: late fusion
planned and combined (:mod:`.fuse_rows`, the combination itself in :mod:`emorec.late_fusion`)
and external predictions scored (:mod:`.external`), both recorded through :mod:`.derived`."""

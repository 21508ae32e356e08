"""What emorec needs of the machine: whole-or-nothing writes and the results-folder lock,
process liveness, named kill points for fault tests, optional extras, the git commit, and how
to run emorec's own command."""

"""Four-level validation of generated code, and mapping each failure to the atoms responsible.

L1 `atom_check` (one atom), L2/L3 `levels` (a task's files, a milestone's package), L4
`acceptance` (the plan's acceptance tests and the per-requirement gate); `blame` turns findings into
the next prompt of the atoms they are blamed on.
"""

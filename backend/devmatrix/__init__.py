"""DevMatrix engine: spec -> discovery -> MasterPlan -> atoms -> validated code."""

__version__ = "0.1.0"

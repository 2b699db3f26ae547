"""Planning: spec -> discovery -> MasterPlan (versioned) -> atoms -> dependency graph.

Every step asks the model for structured output, validates it, feeds errors back, and saves
only complete, checked results.
"""

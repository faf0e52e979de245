// Placeholder: written by the planner helper (issue 4).

// Placeholder: written by the engine helper (issue 4).

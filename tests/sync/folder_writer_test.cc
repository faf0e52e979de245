// Placeholder: written by the writer helper (issue 4).

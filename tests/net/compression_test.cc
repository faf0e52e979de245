// Placeholder: written by the wire helper (issue 4).

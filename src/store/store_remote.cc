// Placeholder: written by the store helper (issue 4).

// Placeholder: written by the crypto helper (issue 4).

// Placeholder: written by the transport helper (issue 4).

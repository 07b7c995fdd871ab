"""Stage 8: validate. Runs what earlier stages produced on a board and measures it."""

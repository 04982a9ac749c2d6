"""`python -m sergas` is the `sergas` command."""

from sergas.cli import main

main()

"""`python -m devmatrix` runs the CLI."""

from devmatrix.cli import main

main()

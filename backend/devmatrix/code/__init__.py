"""Reading code with tree-sitter: atoms of existing files and the symbols they define and use."""

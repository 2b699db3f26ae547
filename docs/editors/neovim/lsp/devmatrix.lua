-- DevMatrix language server for Neovim 0.11+ (`:help lsp-config`).
-- Copy this file to ~/.config/nvim/lsp/devmatrix.lua and add `vim.lsp.enable('devmatrix')`
-- to init.lua. The CI test tests/devmatrix_lsp/test_neovim.py loads this very file.
return {
  cmd = { 'devmatrix-lsp' },
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'markdown',
  },
  -- The workspace root: atom file paths are relative to it, and with no backendUrl the private
  -- backend keeps its data in <root>/.devmatrix.
  -- One nested list: the nearest folder holding either marker wins (a `.devmatrix` in a
  -- parent folder must not beat this project's `.git`).
  root_markers = { { '.devmatrix', '.git' } },
  init_options = {
    -- Empty: the language server starts a private backend (SQLite, 127.0.0.1, random port).
    -- Set DEVMATRIX_BACKEND_URL and DEVMATRIX_TOKEN in your shell for a team backend, so the
    -- token never lands in a dotfile.
    backendUrl = vim.env.DEVMATRIX_BACKEND_URL,
    token = vim.env.DEVMATRIX_TOKEN,
    provider = 'auto',
  },
}

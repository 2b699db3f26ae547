-- `:DevMatrix <command> [json]`: run a devmatrix-lsp command from the current buffer, e.g.
--   :DevMatrix status
--   :DevMatrix plan.fromSpec {"path": "spec.md"}
--   :DevMatrix review.reject {"itemId": 3, "reason": "use a loop"}
-- Copy to ~/.config/nvim/plugin/devmatrix.lua (Neovim sources plugin/ at startup). The CI test
-- tests/devmatrix_lsp/test_neovim.py runs this file too.
local commands = {
  'status', 'chat', 'plan.fromFile', 'plan.fromSelection', 'plan.fromSpec', 'plan.show',
  'plan.approve', 'run.start', 'run.pause', 'run.resume', 'run.cancel', 'review.approve',
  'review.reject', 'review.edit', 'atom.apply', 'atom.regenerate',
}

vim.api.nvim_create_user_command('DevMatrix', function(opts)
  local client = vim.lsp.get_clients({ name = 'devmatrix', bufnr = 0 })[1]
  if not client then
    return vim.notify('devmatrix-lsp is not attached to this buffer', vim.log.levels.ERROR)
  end
  local name = 'devmatrix.' .. opts.fargs[1]
  local json = table.concat(opts.fargs, ' ', 2)
  -- An empty argument must go as {}: a plain Lua {} would be encoded as a JSON array.
  local ok, argument = pcall(function()
    return json ~= '' and vim.json.decode(json) or vim.empty_dict()
  end)
  if not ok then
    return vim.notify('DevMatrix: the argument is not JSON: ' .. json, vim.log.levels.ERROR)
  end
  client:exec_cmd({ title = name, command = name, arguments = { argument } }, { bufnr = 0 },
    function(err, result)
      if err then
        vim.notify(err.message, vim.log.levels.ERROR)
      else
        vim.notify(vim.inspect(result))
      end
    end)
end, {
  nargs = '+',
  complete = function(lead)
    return vim.tbl_filter(function(c)
      return c:find(lead, 1, true) == 1
    end, commands)
  end,
})

-- Drives devmatrix-lsp through Neovim's own LSP client, the way a person would from the editor:
-- spec -> plan -> approve -> run -> diagnostics -> code action applies an atom -> review approved
-- -> the source action applies the validated atoms of another file.
--
--   nvim --headless -u NONE -i NONE -l flow.lua CONFIG.json
--
-- CONFIG.json (written by tests/devmatrix_lsp/test_neovim.py): workspace, spec (workspace-relative),
-- rtp (folder holding lsp/devmatrix.lua), cmd (optional override), init_options, result (path),
-- timeout_ms, atom {file, name, body}, apply_all {file, body}, steps. Every step is recorded in
-- the result JSON, written after each step so a crash or timeout still leaves the trace behind.

local config_text = table.concat(vim.fn.readfile(assert(arg[1], 'CONFIG.json missing')), '\n')
local cfg = vim.json.decode(config_text, { luanil = { object = true, array = true } })
local started = vim.uv.hrtime()
local result = { steps = {}, trace = {}, diagnostics = {}, progress = {}, messages = {} }
local client ---@type vim.lsp.Client

local function ms()
  return math.floor((vim.uv.hrtime() - started) / 1e6)
end

local function save()
  vim.fn.writefile({ vim.json.encode(result) }, cfg.result)
end

local function trace(fmt, ...)
  table.insert(result.trace, string.format('%6d ms  ', ms()) .. string.format(fmt, ...))
end

local function relative(path)
  local root = cfg.workspace .. '/'
  return path:sub(1, #root) == root and path:sub(#root + 1) or path
end

local function wait_for(what, timeout_ms, condition)
  trace('waiting for %s (up to %d ms)', what, timeout_ms)
  if not vim.wait(timeout_ms, condition, 50) then
    error(string.format('timed out after %d ms waiting for %s', timeout_ms, what), 0)
  end
  trace('got %s', what)
end

--- workspace/executeCommand through the client, as `:lua vim.lsp.buf.execute_command` would.
local function command(name, argument, timeout_ms)
  trace('command %s %s', name, vim.json.encode(argument or vim.NIL))
  local params = { command = name, arguments = argument and { argument } or nil }
  local answer, err = client:request_sync('workspace/executeCommand', params, timeout_ms or 60000)
  if not answer then
    error(string.format('%s: no answer (%s)', name, err), 0)
  end
  if answer.err then
    error(string.format('%s failed: %s', name, answer.err.message or vim.inspect(answer.err)), 0)
  end
  trace('  -> %s', vim.json.encode(answer.result or vim.NIL))
  return answer.result
end

local function buffer_for(file)
  local bufnr = vim.fn.bufadd(cfg.workspace .. '/' .. file)
  vim.fn.bufload(bufnr)
  return bufnr
end

local function devmatrix_diagnostics(bufnr, code)
  return vim.tbl_filter(function(d)
    return d.source == 'devmatrix' and (code == nil or d.code == code)
  end, vim.diagnostic.get(bufnr))
end

local function text_of(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end

-- What the editor saw, kept whatever happens: diagnostics over time, progress, messages.
vim.api.nvim_create_autocmd('DiagnosticChanged', {
  callback = function(args)
    local items = {}
    for _, d in ipairs(args.data.diagnostics or {}) do
      table.insert(items, {
        code = d.code,
        severity = d.severity,
        source = d.source,
        message = d.message,
        lnum = d.lnum,
        end_lnum = d.end_lnum,
      })
    end
    local file = relative(vim.api.nvim_buf_get_name(args.buf))
    table.insert(result.diagnostics, { ms = ms(), file = file, items = items })
  end,
})
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(args)
    local value = args.data.params.value or {}
    table.insert(result.progress, {
      ms = ms(),
      kind = value.kind,
      title = value.title,
      percentage = value.percentage,
    })
  end,
})
vim.notify = function(message, level)
  table.insert(result.messages, { ms = ms(), level = level, message = message })
end

local steps = {}

function steps.start()
  vim.opt.runtimepath:prepend(cfg.rtp)
  vim.opt.swapfile = false
  vim.cmd('filetype on')
  local exited
  local override = {
    init_options = cfg.init_options,
    on_exit = function(code, signal)
      exited = string.format('devmatrix-lsp exited (code %s, signal %s)', code, signal)
    end,
  }
  if cfg.cmd then
    override.cmd = cfg.cmd
  end
  vim.lsp.config('devmatrix', override)
  vim.lsp.enable('devmatrix')
  vim.cmd.edit(vim.fn.fnameescape(cfg.workspace .. '/' .. cfg.spec))
  wait_for('the devmatrix client to initialize', 60000, function()
    client = vim.lsp.get_clients({ name = 'devmatrix', bufnr = 0 })[1]
    return exited ~= nil or (client ~= nil and client.initialized)
  end)
  if exited then
    error(exited, 0)
  end
  local provider = client.server_capabilities.executeCommandProvider or {}
  return {
    root_dir = client.root_dir,
    server_info = client.server_info,
    filetype = vim.bo.filetype,
    commands = provider.commands or {},
    code_action_provider = client.server_capabilities.codeActionProvider or vim.NIL,
  }
end

function steps.status()
  local status
  wait_for('devmatrix.status to say connected', 120000, function()
    status = command('devmatrix.status')
    return status.state == 'connected'
  end)
  return status
end

function steps.plan()
  local plan = command('devmatrix.plan.fromSpec', { path = cfg.spec }, 120000)
  local markdown = vim.uri_to_fname(plan.uri)
  plan.markdown = vim.fn.filereadable(markdown) == 1 and table.concat(vim.fn.readfile(markdown), '\n')
    or vim.NIL
  return plan
end

function steps.approve()
  return command('devmatrix.plan.approve', vim.empty_dict())
end

--- The `:DevMatrix` user command of docs/editors/neovim/plugin/devmatrix.lua, as a person types it.
function steps.user_command()
  dofile(cfg.rtp .. '/plugin/devmatrix.lua') -- `-l` loads no plugin/ files, like `-u NONE`
  local function typed(line)
    local before = #result.messages
    vim.cmd(line)
    wait_for(':' .. line .. ' to answer', 30000, function()
      return #result.messages > before
    end)
    return result.messages[#result.messages]
  end
  return { show = typed('DevMatrix plan.show'), bad = typed('DevMatrix plan.show {not json') }
end

function steps.run()
  local run = command('devmatrix.run.start', vim.empty_dict())
  local bufnr = buffer_for(cfg.atom.file)
  wait_for('a review-needed diagnostic on ' .. cfg.atom.file, cfg.timeout_ms, function()
    return #devmatrix_diagnostics(bufnr, 'review-needed') > 0
  end)
  local seen = devmatrix_diagnostics(bufnr, 'review-needed')[1]
  return { start = run, review_needed = seen.user_data.lsp }
end

--- textDocument/codeAction on the range of the atom's review-needed diagnostic, as Neovim's
--- `vim.lsp.buf.code_action()` sends it with the cursor on that line.
local function code_actions(bufnr)
  local diagnostic = devmatrix_diagnostics(bufnr, 'review-needed')[1]
  if not diagnostic then
    error('no review-needed diagnostic left on ' .. cfg.atom.file, 0)
  end
  local lsp_diagnostic = diagnostic.user_data.lsp
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = lsp_diagnostic.range,
    context = { diagnostics = { lsp_diagnostic }, triggerKind = 1 },
  }
  local answer, err = client:request_sync('textDocument/codeAction', params, 30000, bufnr)
  if not answer or answer.err then
    error('textDocument/codeAction failed: ' .. vim.inspect(err or answer.err), 0)
  end
  return answer.result or {}
end

--- Apply one code action the way Neovim's code_action() does: resolve it when it comes without
--- an edit, apply the edit, then run the command.
local function apply_action(action, bufnr, before_command)
  if not action.edit and action.data and client:supports_method('codeAction/resolve') then
    local resolved = client:request_sync('codeAction/resolve', action, 30000, bufnr)
    action = resolved and resolved.result or action
  end
  if action.edit then
    trace('applying %s', vim.json.encode(action.edit))
    vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  end
  if before_command then
    before_command()
  end
  local outcome = vim.NIL
  if action.command then
    local cmd = type(action.command) == 'table' and action.command or action
    outcome = command(cmd.command, cmd.arguments and cmd.arguments[1])
  end
  return { had_edit = action.edit ~= nil, command = action.command or vim.NIL, outcome = outcome }
end

local function find_action(actions, title)
  for _, action in ipairs(actions) do
    if action.title == title then
      return action
    end
  end
  local titles = vim.tbl_map(function(a)
    return a.title
  end, actions)
  error(string.format('no code action %q among %s', title, vim.inspect(titles)), 0)
end

function steps.apply_atom()
  vim.cmd.edit(vim.fn.fnameescape(cfg.workspace .. '/' .. cfg.atom.file))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('the client to attach to ' .. cfg.atom.file, 10000, function()
    return #vim.lsp.get_clients({ name = 'devmatrix', bufnr = bufnr }) > 0
  end)
  local before = text_of(bufnr)
  local actions = code_actions(bufnr)
  local listed = vim.tbl_map(function(a)
    return { title = a.title, kind = a.kind or vim.NIL }
  end, actions)
  local applied = apply_action(find_action(actions, 'DevMatrix: apply atom ' .. cfg.atom.name), bufnr)
  wait_for('the atom body in the buffer', 10000, function()
    return text_of(bufnr):find(cfg.atom.body, 1, true) ~= nil
  end)
  -- The document was open, so the edit may carry no CreateFile: `++p` makes the folder as a
  -- person would.
  vim.cmd('write ++p')
  return { actions = listed, applied = applied, before = before, after = text_of(bufnr) }
end

--- The 0-based line of the applied atom's `def`, or nil.
local function def_line(bufnr)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:find('def ' .. cfg.atom.name .. '(', 1, true) == 1 then
      return i - 1
    end
  end
end

function steps.approve_review()
  local bufnr = vim.fn.bufnr(cfg.workspace .. '/' .. cfg.atom.file)
  -- After the edit the server republishes the diagnostic at the atom's new place in the buffer.
  local moved
  wait_for('the review-needed diagnostic to cover the applied atom', 10000, function()
    local line = def_line(bufnr)
    moved = devmatrix_diagnostics(bufnr, 'review-needed')[1]
    return line ~= nil and moved ~= nil and moved.lnum <= line and line <= moved.end_lnum
  end)
  local action = find_action(code_actions(bufnr), 'DevMatrix: approve review ' .. cfg.atom.name)
  local kept, since
  local applied = apply_action(action, bufnr, function()
    -- The edit (the proposed code, already in the buffer) resolves nothing by itself: give the
    -- server a moment to react to it, then check the warning is still there.
    vim.wait(1000, function()
      return false
    end, 50)
    kept = #devmatrix_diagnostics(bufnr, 'review-needed') > 0
    since = ms()
  end)
  applied.kept_after_edit = kept
  wait_for('the review-needed diagnostic to clear', 30000, function()
    return #devmatrix_diagnostics(bufnr, 'review-needed') == 0
  end)
  applied.cleared_after_ms = ms() - since
  applied.diagnostic_lines = { moved.lnum, moved.end_lnum }
  applied.left = vim.tbl_map(function(d)
    return { code = d.code, message = d.message }
  end, devmatrix_diagnostics(bufnr))
  return applied
end

--- The source action, called exactly as docs/editors/neovim.md shows it: Neovim's own
--- code_action() requests, resolves and applies it.
function steps.apply_all()
  vim.cmd.edit(vim.fn.fnameescape(cfg.workspace .. '/' .. cfg.apply_all.file))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('the client to attach to ' .. cfg.apply_all.file, 10000, function()
    return #vim.lsp.get_clients({ name = 'devmatrix', bufnr = bufnr }) > 0
  end)
  local before = text_of(bufnr)
  vim.lsp.buf.code_action({ context = { only = { 'source.devmatrix.applyAll' } }, apply = true })
  wait_for('the validated atoms of ' .. cfg.apply_all.file .. ' in the buffer', 30000, function()
    return text_of(bufnr):find(cfg.apply_all.body, 1, true) ~= nil
  end)
  vim.cmd('write ++p')
  return { before = before, after = text_of(bufnr) }
end

local order = {
  'start',
  'status',
  'plan',
  'approve',
  'user_command',
  'run',
  'apply_atom',
  'approve_review',
  'apply_all',
}
local wanted = cfg.steps and #cfg.steps > 0 and cfg.steps or order
for _, name in ipairs(order) do
  if vim.tbl_contains(wanted, name) then
    trace('step %s', name)
    local ok, value = xpcall(steps[name], debug.traceback)
    if not ok then
      result.failed = { step = name, error = value }
      trace('step %s failed: %s', name, value)
      break
    end
    result.steps[name] = value
    save()
  end
end

-- shutdown/exit, so the language server stops its private backend before Neovim goes.
if client then
  client:stop()
  local stopped = vim.wait(15000, function()
    return client:is_stopped() and #vim.lsp.get_clients({ name = 'devmatrix' }) == 0
  end, 50)
  result.client_stopped = stopped
  trace('client stopped: %s', tostring(stopped))
end
save()
os.exit(result.failed and 1 or 0)

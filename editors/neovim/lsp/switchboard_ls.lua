-- Switchboard (switchboard-ls): AI code completion that keeps working through provider outages.
--
-- Neovim 0.11+ config, picked up from 'runtimepath' by name:
--
--   vim.lsp.enable('switchboard_ls')
--
-- This file is enough on its own: copied alone into ~/.config/nvim/lsp/, accepting a suggestion
-- from the 0.11 completion menu inserts all of it, several lines included. The rest of
-- editors/neovim (the `switchboard` Lua module) adds the statusline, commands, :checkhealth and
-- options; when it is on 'runtimepath' too, `on_attach` hands it the rest of the set-up.
--
-- Override any field with vim.lsp.config('switchboard_ls', { ... }); the table is merged into this
-- one. Put your own attach logic in an LspAttach autocmd rather than `on_attach`, which replaces
-- the one below (and with it, whole-suggestion accepting on Neovim 0.11).

local api = vim.api

--- Whether a completion item came from switchboard-ls (its `data` shape, DESIGN.md §5). The menu's
--- `convert` is per buffer, not per client, so it must leave other servers' items alone.
---@param item lsp.CompletionItem
---@return boolean
local function is_switchboard_item(item)
  return type(item) == 'table'
    and type(item.data) == 'table'
    and item.data.provider ~= nil
    and item.data.latency_ms ~= nil
end

--- The item's text as buffer lines. A CRLF document gets CRLF text (DESIGN.md §5), but a
--- buffer's lines never hold the line break: 'fileformat' adds it on write.
---@param item lsp.CompletionItem
---@return string[]?
local function new_lines(item)
  local edit = item.textEdit
  local text = edit and edit.newText or item.insertText
  if type(text) ~= 'string' then
    return nil
  end
  return vim.split(text:gsub('\r\n?', '\n'), '\n', { plain = true })
end

--- The menu's "word" of a plain-text item is its text cut at the first whitespace (accepting
--- "return a + b" would type "return"): show and type the whole first line instead.
---@param item lsp.CompletionItem
---@return table complete-item fields to override (none for other servers' items)
local function convert(item)
  local lines = is_switchboard_item(item) and new_lines(item)
  if not lines then
    return {}
  end
  return { word = lines[1], menu = item.detail or '', kind = 'AI' }
end

--- A complete-item word cannot hold a newline, what the menu types is re-indented by
--- 'autoindent', and `convert` is not used when another set-up enabled the menu for this buffer
--- first (an LspAttach autocmd runs before `on_attach`). So on accept, replace what the menu typed,
--- from the item's range start to the cursor, by the item's whole text, verbatim.
---@param client vim.lsp.Client
---@param bufnr integer
local function insert_whole_suggestion(client, bufnr)
  local completed = vim.v.completed_item
  local lsp_data = vim.tbl_get(completed or {}, 'user_data', 'nvim', 'lsp')
  if not lsp_data or lsp_data.client_id ~= client.id then
    return
  end
  local item = lsp_data.completion_item
  local lines = item and new_lines(item)
  local win = api.nvim_get_current_win()
  if not lines or api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local row, col = unpack(api.nvim_win_get_cursor(win))
  row = row - 1
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]

  -- The server's range starts at the word before the cursor (DESIGN.md §5); if it is not on this
  -- line any more, the menu's word is what was typed.
  local start_col
  local range = item.textEdit and (item.textEdit.range or item.textEdit.insert)
  if range and range.start.line == row then
    start_col = vim.str_byteindex(line, client.offset_encoding, range.start.character, false)
  else
    start_col = math.max(col - #(completed.word or ''), 0)
  end
  if start_col > col then
    return
  end

  api.nvim_buf_set_text(bufnr, row, start_col, row, col, lines)
  local end_col = (#lines == 1 and start_col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(win, { row + #lines, end_col })
end

--- The 0.11 completion menu (<C-x><C-o>, vim.lsp.completion.get()), accepting whole suggestions.
--- Neovim itself runs the accepted item's `switchboard.accepted` command (DESIGN.md §5), so the
--- server counts the accept; nothing about the code is sent, only the item's opaque id.
---@param client vim.lsp.Client
---@param bufnr integer
local function enable_menu(client, bufnr)
  vim.lsp.completion.enable(true, client.id, bufnr, { convert = convert })
  local group = api.nvim_create_augroup(('switchboard_ls.accept_%d'):format(bufnr), { clear = true })
  api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = bufnr,
    desc = 'Switchboard: insert the whole accepted suggestion',
    callback = function()
      if vim.v.event.reason == 'accept' then
        insert_whole_suggestion(client, bufnr)
      end
    end,
  })
end

--- Set-up when only this file is installed: a lone suggestion still opens the menu ("menuone":
--- without it, it would be typed at once with nothing to accept, so it would stop at its first
--- line), and ghost text where Neovim has it (0.12+).
---@param client vim.lsp.Client
---@param bufnr integer
local function attach_alone(client, bufnr)
  local completeopt = vim.bo[bufnr].completeopt ~= '' and vim.bo[bufnr].completeopt or vim.go.completeopt
  local flags = vim.split(completeopt, ',', { trimempty = true })
  if not vim.tbl_contains(flags, 'menuone') then
    table.insert(flags, 'menuone')
    vim.bo[bufnr].completeopt = table.concat(flags, ',')
  end
  if vim.lsp.inline_completion then
    pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client.id })
  end
end

---@type vim.lsp.Config
return {
  cmd = { 'switchboard-ls' },

  -- No `filetypes`: attach to every file buffer that has a filetype. Restrict it with, e.g.,
  --   vim.lsp.config('switchboard_ls', { filetypes = { 'python', 'rust', 'lua' } })
  root_markers = { '.switchboard.toml', '.git' },

  -- The `switchboard` config object of DESIGN.md §3 itself (not wrapped). It is the top layer:
  -- every key set here wins over ~/.config/switchboard/config.toml and .switchboard.toml, so the
  -- default is empty. Example:
  --   init_options = {
  --     completion = { deadline_ms = 2000 },
  --     routing = { order = { 'claude', 'gpt' } },
  --     provider = {
  --       { name = 'claude', kind = 'anthropic', model = 'claude-haiku-4-5' },
  --       { name = 'gpt', kind = 'openai', model = 'gpt-4.1-mini' },
  --     },
  --   }
  -- vim.empty_dict() so it goes over the wire as {} (an empty Lua table would be []).
  init_options = vim.empty_dict(),

  -- With the `switchboard` module we show `switchboard/status` ourselves (statusline,
  -- :SwitchboardStatus), so the server need not repeat it as a message; this file alone does not.
  -- Merged into Neovim's default client capabilities.
  capabilities = {
    experimental = {
      switchboardStatus = #api.nvim_get_runtime_file('lua/switchboard/init.lua', false) > 0,
    },
  },

  handlers = {
    -- DESIGN.md §5: sent when what it shows changes; feeds the statusline component.
    ['switchboard/status'] = function(_, result, ctx)
      local ok, switchboard = pcall(require, 'switchboard')
      if ok then
        switchboard.on_status(result, ctx.client_id)
      end
    end,
  },

  on_attach = function(client, bufnr)
    if bufnr == 0 then
      bufnr = api.nvim_get_current_buf()
    end
    enable_menu(client, bufnr)
    local ok, switchboard = pcall(require, 'switchboard')
    if ok then
      switchboard.attach(client, bufnr) -- its options, ghost text, statusline, commands
    else
      attach_alone(client, bufnr)
    end
  end,
}

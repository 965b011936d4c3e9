-- How a Switchboard suggestion gets into the buffer.
--
-- Neovim 0.12+ has ghost text (`vim.lsp.inline_completion`) and inserts the whole suggestion
-- itself. Neovim 0.11 only has the pop-up menu (`vim.lsp.completion`, `<C-x><C-o>`), and two of
-- its habits would mangle a code suggestion, so this module undoes them:
--
-- * The menu's "word" of a plain-text item is `newText` cut at the first whitespace: accepting
--   "return a + b" would leave "return". `convert` gives the menu the whole first line.
-- * A complete-item word cannot hold a newline, and text typed into the buffer is re-indented
--   by 'autoindent'. So on accept (`CompleteDone`) the typed text is replaced by the item's
--   whole `textEdit.newText` with nvim_buf_set_text, which inserts it verbatim.

local M = {}

local api = vim.api

--- Whether an LSP completion item came from switchboard-ls (its `data` shape, DESIGN.md §5).
--- `convert` is per buffer, not per client, so it must leave other servers' items alone.
---@param item lsp.CompletionItem
---@return boolean
function M.is_switchboard_item(item)
  return type(item) == 'table'
    and type(item.data) == 'table'
    and item.data.provider ~= nil
    and item.data.latency_ms ~= nil
end

---@param item lsp.CompletionItem
---@return string?
local function new_text(item)
  local edit = item.textEdit
  if edit and edit.newText then
    return edit.newText
  end
  return item.insertText
end

--- `convert` for vim.lsp.completion.enable: the menu shows and inserts the whole first line.
---@param item lsp.CompletionItem
---@return table complete-item fields to override (empty for other servers' items)
function M.convert(item)
  if not M.is_switchboard_item(item) then
    return {}
  end
  local text = new_text(item)
  if not text then
    return {}
  end
  local first_line = vim.split(text, '\n', { plain = true })[1]
  return { word = first_line, menu = item.detail or '', kind = 'AI' }
end

--- Replaces what the menu typed (from the item's range start to the cursor) by the item's
--- whole text. Called on CompleteDone with reason "accept".
---@param client vim.lsp.Client
---@param bufnr integer
local function insert_whole_suggestion(client, bufnr)
  local completed = vim.v.completed_item
  local lsp_data = vim.tbl_get(completed or {}, 'user_data', 'nvim', 'lsp')
  if not lsp_data or lsp_data.client_id ~= client.id then
    return
  end
  local item = lsp_data.completion_item
  local text = item and new_text(item)
  if not text then
    return
  end

  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local row, col = unpack(api.nvim_win_get_cursor(win))
  row = row - 1
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]

  -- Where the menu started typing: the item's range start when it is on this line (the server
  -- replaces the word before the cursor), else the start of the word the menu inserted.
  local start_col
  local edit = item.textEdit
  local range = edit and (edit.range or edit.insert)
  if range and range.start.line == row then
    start_col = vim.str_byteindex(line, client.offset_encoding, range.start.character, false)
  else
    start_col = math.max(col - #(completed.word or ''), 0)
  end
  if start_col > col then
    return
  end

  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, start_col, row, col, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1 and start_col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(win, { end_row + 1, end_col })
end

--- Tells the server the user accepted `item` (DESIGN.md §5): it runs the item's
--- `switchboard.accepted` command, which counts the accept for the provider (`switchboard-ls
--- stats`). Nothing about the code is sent, only the item's opaque id.
---@param client vim.lsp.Client
---@param bufnr integer
local function report_accept(client, bufnr)
  local item = vim.tbl_get(vim.v.completed_item or {}, 'user_data', 'nvim', 'lsp', 'completion_item')
  local command = type(item) == 'table' and item.command
  if type(command) ~= 'table' or command.command ~= 'switchboard.accepted' then
    return
  end
  client:request('workspace/executeCommand', {
    command = command.command,
    arguments = command.arguments,
  }, function() end, bufnr)
end

--- Requests a completion after `idle_ms` without typing, like an inline assistant would.
---@param bufnr integer
---@param group integer augroup the autocmds go in
---@param idle_ms integer
local function trigger_when_idle(bufnr, group, idle_ms)
  local timer = assert(vim.uv.new_timer())
  api.nvim_create_autocmd('TextChangedI', {
    group = group,
    buffer = bufnr,
    callback = function()
      timer:stop()
      timer:start(idle_ms, 0, vim.schedule_wrap(function()
        if api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode == 'i'
          and vim.fn.pumvisible() == 0 then
          vim.lsp.completion.get()
        end
      end))
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufWipeout' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      timer:stop()
    end,
  })
end

---@class switchboard.CompletionOpts
---@field inline? boolean use ghost text when Neovim has it (0.12+); default true
---@field idle_ms? integer on 0.11, open the menu after this many ms without typing (and add
---  "noinsert" to the buffer's 'completeopt'); default off
---@field menuone? boolean add "menuone" to the buffer's 'completeopt'; default true

--- Sets up completion from `client` in `bufnr`.
---@param client vim.lsp.Client
---@param bufnr integer
---@param opts? switchboard.CompletionOpts
function M.attach(client, bufnr, opts)
  opts = opts or {}
  if bufnr == 0 then
    bufnr = api.nvim_get_current_buf()
  end
  local inline = opts.inline ~= false and vim.lsp.inline_completion ~= nil
  if inline then
    local ok = pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client.id })
    inline = ok
  end

  -- Without "menuone" a lone suggestion is typed in at once with no menu to accept it from, so
  -- a multi-line one would stop at its first line. A menu that opens by itself (idle_ms) must
  -- not type into the buffer until accepted: "noinsert".
  local wanted = {}
  if opts.menuone ~= false then
    table.insert(wanted, 'menuone')
  end
  if opts.idle_ms and not inline then
    table.insert(wanted, 'noinsert')
  end
  local completeopt = vim.bo[bufnr].completeopt ~= '' and vim.bo[bufnr].completeopt or vim.go.completeopt
  local flags = vim.split(completeopt, ',', { trimempty = true })
  for _, flag in ipairs(wanted) do
    if not vim.tbl_contains(flags, flag) then
      table.insert(flags, flag)
    end
  end
  vim.bo[bufnr].completeopt = table.concat(flags, ',')

  -- Always offer the menu too (<C-x><C-o>, vim.lsp.completion.get()), 0.12 included.
  vim.lsp.completion.enable(true, client.id, bufnr, { convert = M.convert })

  local group = api.nvim_create_augroup(('switchboard.completion_%d'):format(bufnr), { clear = true })
  api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = bufnr,
    desc = 'Switchboard: insert the whole accepted suggestion',
    callback = function()
      if vim.v.event.reason == 'accept' then
        local lsp_data = vim.tbl_get(vim.v.completed_item or {}, 'user_data', 'nvim', 'lsp')
        if lsp_data and lsp_data.client_id == client.id then
          report_accept(client, bufnr)
        end
        insert_whole_suggestion(client, bufnr)
      end
    end,
  })
  if not inline and opts.idle_ms then
    trigger_when_idle(bufnr, group, opts.idle_ms)
  end
end

return M

-- Completion options of the plugin, on top of what lsp/switchboard_ls.lua sets up itself.
--
-- The lsp file owns accepting from the 0.11 menu (the whole suggestion, several lines included,
-- verbatim), so that it works when copied alone. This module adds what a user can choose:
-- ghost text on Neovim 0.12+ (`vim.lsp.inline_completion`), the 'completeopt' flags, and a menu
-- that opens by itself after a pause in typing.

local M = {}

local api = vim.api

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

--- Applies the completion options to `client` in `bufnr`.
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

  -- The menu itself (<C-x><C-o>, vim.lsp.completion.get(); 0.12 included) is enabled by the lsp
  -- file's on_attach.
  local group = api.nvim_create_augroup(('switchboard.completion_%d'):format(bufnr), { clear = true })
  if not inline and opts.idle_ms then
    trigger_when_idle(bufnr, group, opts.idle_ms)
  end
end

return M

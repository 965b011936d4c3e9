-- `:Switchboard stats [--since 24h] [--json]`: runs `switchboard-ls stats` (which reads the stats
-- file, no server needed) and shows what it prints in a scratch buffer that `q` closes.

local M = {}

local api = vim.api

local BUFFER_NAME = 'switchboard://stats'

--- Shows `lines` in the stats buffer (made once, reused), in a split below.
---@param lines string[]
---@return integer bufnr
local function show(lines)
  local bufnr = vim.fn.bufnr(BUFFER_NAME)
  if bufnr == -1 then
    bufnr = api.nvim_create_buf(false, true) -- not listed, scratch: buftype=nofile, no swapfile
    api.nvim_buf_set_name(bufnr, BUFFER_NAME)
    vim.bo[bufnr].bufhidden = 'wipe'
    vim.keymap.set('n', 'q', function()
      -- The last window of a tab page cannot be closed; then the buffer goes instead.
      if #api.nvim_tabpage_list_wins(0) > 1 then
        api.nvim_win_close(0, false)
      else
        api.nvim_buf_delete(bufnr, { force = true })
      end
    end, { buffer = bufnr, nowait = true, desc = 'Close the Switchboard stats' })
  end
  vim.bo[bufnr].modifiable = true
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false

  local win = vim.fn.bufwinid(bufnr)
  if win == -1 then
    vim.cmd('botright ' .. math.min(#lines + 1, math.floor(vim.o.lines / 2)) .. 'split')
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, bufnr)
  end
  api.nvim_set_current_win(win)
  vim.wo[win].wrap = false
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].list = false
  api.nvim_win_set_cursor(win, { 1, 0 })
  return bufnr
end

--- Runs `switchboard-ls stats ARGS...` and shows its output; `on_shown` gets the buffer.
---@param args string[] passed on to the command (`--since 24h`, `--json`)
---@param on_shown? fun(bufnr: integer)
function M.open(args, on_shown)
  local cmd = vim.list_extend({ require('switchboard').server_path(), 'stats' }, args or {})
  local ok, err = pcall(vim.system, cmd, { text = true }, vim.schedule_wrap(function(result)
    if result.code ~= 0 then
      local why = vim.trim((result.stderr or '') .. (result.stdout or ''))
      vim.notify(('switchboard: `%s` failed (exit %d): %s'):format(table.concat(cmd, ' '),
        result.code, why), vim.log.levels.ERROR)
      return
    end
    local lines = vim.split(vim.trim(result.stdout or ''), '\n', { plain = true })
    -- Warnings (an unreadable line in the file) go to stderr: keep them visible, at the end.
    local warnings = vim.trim(result.stderr or '')
    if warnings ~= '' then
      table.insert(lines, '')
      vim.list_extend(lines, vim.split(warnings, '\n', { plain = true }))
    end
    local bufnr = show(lines)
    if on_shown then
      on_shown(bufnr)
    end
  end))
  if not ok then
    vim.notify(('switchboard: cannot run %s: %s'):format(cmd[1], err), vim.log.levels.ERROR)
  end
end

return M

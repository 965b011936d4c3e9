-- Switchboard (switchboard-ls): AI code completion that keeps working through provider outages.
--
-- Neovim 0.11+ config, picked up from 'runtimepath' by name:
--
--   vim.lsp.enable('switchboard_ls')
--
-- Override any field with vim.lsp.config('switchboard_ls', { ... }); the table is merged into this
-- one. Put your own attach logic in an LspAttach autocmd rather than `on_attach`, which replaces
-- the one below (and with it, whole-suggestion accepting on Neovim 0.11).

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

  -- We show `switchboard/status` ourselves (statusline, :SwitchboardStatus), so the server need
  -- not repeat it as a message. Merged into Neovim's default client capabilities.
  capabilities = { experimental = { switchboardStatus = true } },

  handlers = {
    -- DESIGN.md §5: sent on every change of a provider's state; feeds the statusline component.
    ['switchboard/status'] = function(_, result, ctx)
      local ok, switchboard = pcall(require, 'switchboard')
      if ok then
        switchboard.on_status(result, ctx.client_id)
      end
    end,
  },

  on_attach = function(client, bufnr)
    local ok, switchboard = pcall(require, 'switchboard')
    if not ok then
      -- Only lsp/ was copied: plain completion still works, but the pop-up menu of Neovim 0.11
      -- inserts a suggestion only up to its first space. Install the whole editors/neovim folder.
      vim.notify_once(
        'switchboard_ls: lua/switchboard not on runtimepath; accepting a suggestion may insert '
          .. 'only its first word. Add the whole editors/neovim folder as a plugin.',
        vim.log.levels.WARN
      )
      vim.lsp.completion.enable(true, client.id, bufnr)
      return
    end
    switchboard.attach(client, bufnr)
  end,
}

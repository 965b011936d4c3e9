-- Switchboard for set-ups on nvim-lspconfig's legacy `require('lspconfig').X.setup{}` API
-- (Neovim 0.10, or 0.11 with the old style):
--
--   require('switchboard.lspconfig').setup({ init_options = { ... } })
--
-- It registers `switchboard_ls` with lspconfig from the same table as lsp/switchboard_ls.lua
-- and calls its setup() with your options merged in.

local M = {}

---@return table the table returned by lsp/switchboard_ls.lua
local function base_config()
  local path = vim.api.nvim_get_runtime_file('lsp/switchboard_ls.lua', false)[1]
  assert(path, 'switchboard: lsp/switchboard_ls.lua is not on runtimepath')
  return dofile(path)
end

---@param opts? table lspconfig setup() options
function M.setup(opts)
  local configs = require('lspconfig.configs')
  local util = require('lspconfig.util')
  if not configs.switchboard_ls then
    local base = base_config()
    configs.switchboard_ls = {
      default_config = {
        cmd = base.cmd,
        filetypes = base.filetypes, -- nil: every filetype
        root_dir = function(fname)
          return util.root_pattern(unpack(base.root_markers))(fname)
        end,
        single_file_support = true,
        init_options = base.init_options,
        handlers = base.handlers,
        on_attach = base.on_attach,
      },
      docs = {
        description = 'switchboard-ls: AI code completion with provider failover.',
      },
    }
  end
  require('lspconfig').switchboard_ls.setup(opts or {})
end

return M

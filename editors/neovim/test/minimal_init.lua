-- A child Neovim of test/e2e.lua, installed the way the README tells a user to, pointed at the
-- fake provider. SB_TEST_INSTALL says how:
--   plugin    (default) the whole editors/neovim folder on 'runtimepath', require('switchboard').setup()
--   lsp-file  only a copy of lsp/switchboard_ls.lua, in the folder SB_TEST_LSP_FILE_DIR (its lsp/)
-- SB_TEST_OWN_COMPLETION=1 adds what `:help lsp-completion` suggests to users: their own
-- LspAttach autocmd that turns on Neovim's completion (it runs before the config's on_attach).
-- SB_TEST_PROVIDER names the provider, so each child's accepts can be told apart in the stats.
vim.opt.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'

if (vim.env.SB_TEST_INSTALL or 'plugin') == 'plugin' then
  local plugin_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
  vim.opt.runtimepath:prepend(plugin_dir)
  require('switchboard').setup()
else
  vim.opt.runtimepath:prepend(assert(vim.env.SB_TEST_LSP_FILE_DIR, 'SB_TEST_LSP_FILE_DIR not set'))
end

if vim.env.SB_TEST_OWN_COMPLETION == '1' then
  vim.api.nvim_create_autocmd('LspAttach', {
    callback = function(args)
      vim.lsp.completion.enable(true, args.data.client_id, args.buf, { autotrigger = true })
    end,
  })
end

vim.lsp.config('switchboard_ls', {
  cmd = { vim.env.SWITCHBOARD_LS_PATH },
  init_options = {
    provider = {
      {
        name = vim.env.SB_TEST_PROVIDER or 'fake',
        kind = 'openai-fim',
        model = 'fake-model',
        base_url = vim.env.SB_TEST_BASE_URL .. '/v1',
      },
    },
    -- One attempt per request, no racing, no polling: each completion is one upstream call.
    routing = { retries = 0, hedge_ms = 'off', status_poll_secs = 0, breaker_cooldown_ms = 60000 },
    cache = { path = 'off' },
  },
})
vim.lsp.enable('switchboard_ls')

-- The child Neovim of test/e2e.lua: this plugin and nothing else, configured the way the README
-- tells a user to, pointed at the fake provider.
local plugin_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'I'

require('switchboard').setup()

vim.lsp.config('switchboard_ls', {
  cmd = { vim.env.SWITCHBOARD_LS_PATH },
  init_options = {
    provider = {
      {
        name = 'fake',
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

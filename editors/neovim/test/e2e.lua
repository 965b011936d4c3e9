-- End-to-end test of editors/neovim with a real Neovim 0.11, switchboard-ls and the fake provider.
--
--   nvim -l test/e2e.lua      (run by test/run.sh, which sets the paths below)
--
-- This Neovim is only the driver: it starts the fake provider and embedded Neovims that load
-- test/minimal_init.lua, each installed one of the ways the README gives (the whole folder as a
-- plugin; the lsp file alone, with and without the user's own vim.lsp.completion.enable), then
-- types into them over RPC the way a user would (nvim_input) and reads back their buffers,
-- diagnostics, statusline, :checkhealth report and :Switchboard stats buffer. Every wait is on an
-- event, with a timeout.

local uv = vim.uv
local env = vim.env
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')

local LS = assert(env.SWITCHBOARD_LS_PATH, 'SWITCHBOARD_LS_PATH not set')
local FAKE = assert(env.SWITCHBOARD_FAKE_PROVIDER, 'SWITCHBOARD_FAKE_PROVIDER not set')
local NVIM = env.SB_TEST_NVIM or vim.v.progpath
-- Outage surfacing (diagnostics, switchboard/status, commands) is a later server step than
-- completion; its checks run with SWITCHBOARD_E2E_OUTAGE=1.
local OUTAGE = (env.SWITCHBOARD_E2E_OUTAGE or '1') == '1'
local TIMEOUT = tonumber(env.SB_TEST_TIMEOUT_MS or '') or 10000

local passed, failed, skipped = 0, 0, 0

local function log(...)
  io.stdout:write(table.concat({ ... }, ' '), '\n')
  io.stdout:flush()
end

---@param name string
---@param fn fun()
local function test(name, fn)
  local t0 = uv.hrtime()
  local ok, err = xpcall(fn, debug.traceback)
  local ms = math.floor((uv.hrtime() - t0) / 1e6)
  if ok then
    passed = passed + 1
    log(('ok - %s (%d ms)'):format(name, ms))
  else
    failed = failed + 1
    log(('not ok - %s (%d ms)\n  %s'):format(name, ms, tostring(err):gsub('\n', '\n  ')))
  end
end

local function eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s:\n  expected %s\n  got      %s'):format(what or 'mismatch', vim.inspect(expected),
      vim.inspect(actual)), 2)
  end
end

---@param what string
---@param predicate fun(): any
local function wait_for(what, predicate, timeout)
  local value
  local ok = vim.wait(timeout or TIMEOUT, function()
    value = predicate()
    return value ~= nil and value ~= vim.NIL and value ~= false
  end, 20)
  if not ok then
    error('timed out waiting for ' .. what, 2)
  end
  return value
end

-- Temp dirs so neither the user's switchboard config/cache nor their Neovim state is touched.
local tmp = vim.fn.tempname()
for _, d in ipairs({ 'cache', 'config', 'state/switchboard', 'data', 'project/.git', 'lsp-file/lsp' }) do
  vim.fn.mkdir(tmp .. '/' .. d, 'p')
end

-- A stats file as servers write it (docs/STATS.md): three hours of claude and gpt before a fixed
-- "now" (SWITCHBOARD_STATS_NOW), claude down for half an hour of them.
local STATS_NOW = '2026-01-15T12:30:00Z'
do
  local hour = 1768478400 -- 2026-01-15T12:00:00Z
  local stats = {}
  for k = 1, 3 do
    for _, p in ipairs({ { 'claude', 10, 4, 0 }, { 'gpt', 6, 3, 2 } }) do
      local latency = {}
      for i = 1, 22 do
        latency[i] = i == 8 and p[2] or 0
      end
      table.insert(stats, vim.json.encode({
        type = 'hour', hour = hour - 3600 * k, provider = p[1], served = p[2], cached = 1,
        stale = 0, ['local'] = 0, failovers = p[4], accepted = p[3], accepted_cached = 0,
        accepted_stale = 0, accepted_failover = 0, failures = vim.empty_dict(), latency_ms = latency,
      }))
    end
  end
  table.insert(stats, vim.json.encode({ type = 'change', at = hour - 7200, provider = 'claude',
    from = 'healthy', to = 'down', reason = '529 retryable', session = 'e2e' }))
  table.insert(stats, vim.json.encode({ type = 'change', at = hour - 5400, provider = 'claude',
    from = 'down', to = 'healthy', reason = 'recovered', session = 'e2e' }))
  vim.fn.writefile(stats, tmp .. '/state/switchboard/stats-v1.jsonl')
end

-- The lsp file alone, as a user copies it into ~/.config/nvim/lsp/.
local lsp_file_dir = tmp .. '/lsp-file'
vim.fn.writefile(vim.fn.readfile(vim.fn.fnamemodify(here, ':h') .. '/lsp/switchboard_ls.lua'),
  lsp_file_dir .. '/lsp/switchboard_ls.lua')

-- The fake provider prints its base URL on its first stdout line.
local fake_url
local fake = vim.system({ FAKE }, {
  stdout = function(_, data)
    if data and not fake_url then
      fake_url = data:match('(http://[%d%.]+:%d+)')
    end
  end,
})
local chan -- the embedded Neovim the helpers below drive
local children = {} -- every embedded Neovim started

--- Stops what this script started; called at the end and on an early abort.
local function cleanup()
  for _, child in ipairs(children) do
    pcall(vim.rpcrequest, child, 'nvim_command', 'qa!')
    vim.fn.jobwait({ child }, 2000)
    pcall(vim.fn.jobstop, child)
  end
  fake:kill(15)
  fake:wait(2000)
  vim.fn.delete(tmp, 'rf')
end

--- Ends the run before any test could start.
local function abort(why)
  log('not ok - set-up: ' .. why)
  cleanup()
  log('neovim: 0 passed, 1 failed')
  os.exit(1)
end

if not vim.wait(TIMEOUT, function()
  return fake_url ~= nil
end, 20) then
  abort('the fake provider printed no URL: ' .. FAKE)
end

--- A blocking HTTP/1.1 request to the fake provider's control API.
---@return integer status, string body
local function http(method, path, body)
  body = body or ''
  local host, port = fake_url:match('^http://([%d%.]+):(%d+)')
  local tcp = assert(uv.new_tcp())
  local buf, done, err = '', false, nil
  tcp:connect(host, tonumber(port), function(cerr)
    if cerr then
      err, done = cerr, true
      return
    end
    tcp:write(('%s %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n'
      .. 'Content-Length: %d\r\nConnection: close\r\n\r\n%s'):format(method, path, host, port, #body, body))
    tcp:read_start(function(rerr, data)
      if rerr or not data then
        err, done = rerr, true
        return
      end
      buf = buf .. data
      local head_end = buf:find('\r\n\r\n', 1, true)
      local len = head_end and tonumber(buf:sub(1, head_end):lower():match('content%-length:%s*(%d+)'))
      if len and #buf - head_end - 3 >= len then
        done = true
      end
    end)
  end)
  wait_for('HTTP ' .. method .. ' ' .. path, function()
    return done
  end)
  if not tcp:is_closing() then
    tcp:close()
  end
  assert(not err, err)
  local head, payload = buf:match('^(.-)\r\n\r\n(.*)$')
  local status = tonumber(head:match('^HTTP/1%.%d (%d+)'))
  if head:lower():find('transfer%-encoding:%s*chunked') then
    local out, rest = {}, payload
    while true do
      local size, after = rest:match('^(%x+)\r\n(.*)$')
      size = tonumber(size or '0', 16)
      if size == 0 then
        break
      end
      table.insert(out, after:sub(1, size))
      rest = after:sub(size + 3)
    end
    payload = table.concat(out)
  end
  return status, payload
end

local function fake_default(spec)
  local status = http('POST', '/_control/default', vim.json.encode(spec))
  assert(status == 200, 'fake provider /_control/default answered ' .. tostring(status))
end

local function fake_requests()
  local _, body = http('GET', '/_control/requests')
  return vim.json.decode(body)
end

-- The user's Neovim, embedded and driven over RPC.
local file = tmp .. '/project/add.py'
vim.fn.writefile({ 'def add(a, b):', '    ' }, file)
local child_env = {
  XDG_CACHE_HOME = tmp .. '/cache',
  XDG_CONFIG_HOME = tmp .. '/config',
  XDG_STATE_HOME = tmp .. '/state',
  XDG_DATA_HOME = tmp .. '/data',
  SWITCHBOARD_CONFIG = tmp .. '/config/does-not-exist.toml',
  SWITCHBOARD_LS_PATH = LS,
  SB_TEST_BASE_URL = fake_url,
}

--- Starts an embedded Neovim on `file` with test/minimal_init.lua and `env` on top of child_env.
---@return integer channel
local function start_child(env)
  local child = vim.fn.jobstart(
    { NVIM, '--embed', '--headless', '--clean', '-n', '-u', here .. '/minimal_init.lua', file },
    { rpc = true, env = vim.tbl_extend('force', child_env, env or {}), cwd = tmp .. '/project' }
  )
  if child <= 0 then
    abort('could not start ' .. NVIM)
  end
  table.insert(children, child)
  return child
end

-- The way most of the tests install it: the whole folder as a plugin.
chan = start_child({ SB_TEST_INSTALL = 'plugin' })

local function lua(code, ...)
  return vim.rpcrequest(chan, 'nvim_exec_lua', code, { ... })
end
local function input(keys)
  vim.rpcrequest(chan, 'nvim_input', keys)
end
local function mode()
  return vim.rpcrequest(chan, 'nvim_get_mode').mode
end
local function lines()
  return vim.rpcrequest(chan, 'nvim_buf_get_lines', 0, 0, -1, false)
end

--- Puts the buffer in `text` and the cursor at the end of line `row` (1-based), in Insert mode.
local function type_at_end(text, row)
  input('<Esc>')
  wait_for('Normal mode', function()
    return mode() == 'n'
  end)
  lua('vim.api.nvim_buf_set_lines(0, 0, -1, false, ...)', text)
  lua('vim.api.nvim_win_set_cursor(0, {...})', row, 0)
  input('A')
  wait_for('Insert mode', function()
    return mode() == 'i'
  end)
end

--- Puts the buffer in `text` and the cursor on line `row` (1-based) before byte `col` (0-based),
--- in Insert mode.
local function type_before(text, row, col)
  type_at_end(text, row)
  input('<Esc>')
  wait_for('Normal mode', function()
    return mode() == 'n'
  end)
  lua('vim.api.nvim_win_set_cursor(0, {...})', row, col)
  input('i')
  wait_for('Insert mode', function()
    return mode() == 'i'
  end)
end

--- What a user does: ask for completion (<C-x><C-o> unless `trigger` says otherwise), wait
--- for the menu, pick with <C-n> unless an item is already selected, accept with <C-y>, leave
--- Insert mode.
local function complete_and_accept(trigger)
  input(trigger or '<C-x><C-o>')
  wait_for('the completion menu', function()
    return lua('return vim.fn.pumvisible()') == 1
  end)
  local items = lua('return vim.fn.complete_info({"items", "selected"})')
  if items.selected == -1 then
    input('<C-n>')
    wait_for('an item to be selected', function()
      return lua('return vim.fn.complete_info({"selected"}).selected') ~= -1
    end)
  end
  input('<C-y>')
  wait_for('the menu to close', function()
    return lua('return vim.fn.pumvisible()') == 0
  end)
  input('<Esc>')
  wait_for('Normal mode', function()
    return mode() == 'n'
  end)
end

--- Records the workspace/executeCommand requests the child's client sends, and whether the
--- server answered them without an error (accepted_commands() reads them).
local function record_commands()
  lua([[
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
    _G.sb_sent = {}
    if not _G.sb_request then
      _G.sb_request = client.request
      client.request = function(self, method, params, handler, bufnr)
        if method == 'workspace/executeCommand' then
          local sent = { command = params.command, arguments = params.arguments }
          table.insert(_G.sb_sent, sent)
          local inner = handler
          handler = function(err, ...)
            sent.answered = err == nil
            if inner then
              return inner(err, ...)
            end
          end
        end
        return _G.sb_request(self, method, params, handler, bufnr)
      end
    end
  ]])
end

--- The switchboard.accepted requests sent since record_commands(), once all are answered.
local function accepted_commands()
  return wait_for('switchboard.accepted to be sent and answered', function()
    local sent = lua([[
      return vim.tbl_filter(function(s) return s.command == 'switchboard.accepted' end, _G.sb_sent)
    ]])
    local answered = #sent > 0 and vim.iter(sent):all(function(s)
      return s.answered
    end)
    return answered and sent or nil
  end)
end

local function request_completion()
  return lua([[
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
    params.context = { triggerKind = 1 }
    local res = client:request_sync('textDocument/completion', params, ...,  0)
    return res
  ]], TIMEOUT)
end

local ok_start, start_err = pcall(function()
  wait_for('the child Neovim', function()
    return mode() == 'n'
  end)
end)

test('the config attaches switchboard_ls to a file buffer', function()
  assert(ok_start, start_err)
  local client = wait_for('switchboard_ls to attach', function()
    return lua([[
      local c = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
      return c and c.initialized and { name = c.name, cmd = c.config.cmd, caps = c.server_capabilities,
        root = c.root_dir, init = c.config.init_options,
        sent = c.capabilities, default = vim.lsp.protocol.make_client_capabilities() } or nil
    ]])
  end)
  eq({ LS }, client.cmd, 'cmd')
  assert(client.caps.completionProvider, 'no completionProvider in ' .. vim.inspect(client.caps))
  eq(tmp .. '/project', vim.fn.resolve(client.root), 'root_dir from root_markers')
  eq('fake', client.init.provider[1].name, 'init_options is the switchboard object, unwrapped')
  eq(true, client.sent.experimental and client.sent.experimental.switchboardStatus,
    'capabilities.experimental.switchboardStatus')
  eq(client.default.textDocument.completion, client.sent.textDocument.completion,
    'our capabilities are merged into the defaults, not in their place')
end)

test('a completion request returns the fake provider text', function()
  fake_default({ type = 'ok', text = 'return a + b' })
  type_at_end({ 'def add(a, b):', '    ' }, 2)
  local res = request_completion()
  assert(res and not res.err, 'completion failed: ' .. vim.inspect(res))
  local items = res.result.items or res.result
  eq(1, #items, 'item count')
  local item = items[1]
  eq('return a + b', item.textEdit.newText, 'newText')
  eq({ line = 1, character = 4 }, item.textEdit.range.start, 'range start (the empty word at the cursor)')
  eq('fake', item.data.provider, 'data.provider')
  assert(item.detail:find('^fake'), 'detail: ' .. tostring(item.detail))
  local upstream = vim.tbl_filter(function(r)
    return r.path:find('/v1/completions', 1, true)
  end, fake_requests())
  assert(#upstream >= 1, 'the fake provider saw no /v1/completions request')
end)

test('accepting with <C-x><C-o> <C-y> inserts the whole suggestion', function()
  fake_default({ type = 'ok', text = 'return a + b' })
  type_at_end({ 'def plus(a, b):', '    ' }, 2)
  complete_and_accept()
  eq({ 'def plus(a, b):', '    return a + b' }, lines(), 'buffer')
end)

test("accepting with <C-y> runs the item's switchboard.accepted command on the server, once", function()
  fake_default({ type = 'ok', text = 'return a - b' })
  record_commands()
  type_at_end({ 'def minus(a, b):', '    ' }, 2)
  complete_and_accept()
  eq({ 'def minus(a, b):', '    return a - b' }, lines(), 'buffer')
  local sent = accepted_commands()
  eq(1, #sent, 'switchboard.accepted requests for one accept')
  eq('string', type(sent[1].arguments[1]), 'the opaque id argument')
end)

test("with 'completeopt' noselect, <C-x><C-o> <C-n> <C-y> inserts the whole suggestion", function()
  fake_default({ type = 'ok', text = 'return a ** b' })
  local saved = lua('return vim.bo.completeopt')
  lua('vim.bo.completeopt = "menu,menuone,noselect,popup"')
  type_at_end({ 'def power(a, b):', '    ' }, 2)
  input('<C-x><C-o>')
  wait_for('the completion menu', function()
    return lua('return vim.fn.pumvisible()') == 1
  end)
  eq(-1, lua('return vim.fn.complete_info({"selected"}).selected'), 'nothing selected yet')
  complete_and_accept('')
  lua('vim.bo.completeopt = ...', saved)
  eq({ 'def power(a, b):', '    return a ** b' }, lines(), 'buffer')
end)

test('accepting mid-word keeps the typed word once', function()
  fake_default({ type = 'ok', text = 'urn a * b' })
  type_at_end({ 'def times(a, b):', '    ret' }, 2)
  complete_and_accept()
  eq({ 'def times(a, b):', '    return a * b' }, lines(), 'buffer')
end)

test('accepting after non-ASCII text on the line lands in the right column', function()
  fake_default({ type = 'ok', text = 'urn s' })
  type_at_end({ 'def greet():', '    s = "héllo→"; ret' }, 2)
  complete_and_accept()
  eq({ 'def greet():', '    s = "héllo→"; return s' }, lines(), 'buffer')
end)

test('a multi-line suggestion is inserted verbatim, not re-indented', function()
  local text = 'if a > b:\n        return a\n    return b'
  fake_default({ type = 'ok', text = text })
  type_at_end({ 'def biggest(a, b):', '    ' }, 2)
  lua('vim.bo.autoindent = true; vim.bo.smartindent = true')
  complete_and_accept()
  eq({ 'def biggest(a, b):', '    if a > b:', '        return a', '    return b' }, lines(), 'buffer')
  eq({ 4, 11 }, vim.rpcrequest(chan, 'nvim_win_get_cursor', 0), 'cursor at the end of the suggestion')
end)

test('a multi-line suggestion before a closing bracket keeps it after the last line, CRLF too', function()
  fake_default({ type = 'ok', text = 'a,\r\n    b' })
  type_before({ 'pair = (', '    )' }, 2, 4)
  lua('vim.bo.fileformat = "dos"')
  complete_and_accept()
  lua('vim.bo.fileformat = "unix"')
  eq({ 'pair = (', '    a,', '    b)' }, lines(), 'buffer')
end)

test('with idle_ms the menu opens by itself after typing', function()
  fake_default({ type = 'ok', text = 'urn a % b' })
  type_at_end({ 'def modulo(a, b):', '    ' }, 2)
  lua([[
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
    require('switchboard.completion').attach(client, 0, { idle_ms = 30, inline = false })
  ]])
  complete_and_accept('ret')
  eq({ 'def modulo(a, b):', '    return a % b' }, lines(), 'buffer')
  lua([[
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
    require('switchboard.completion').attach(client, 0, {})
  ]])
end)

test('the statusline component reads switchboard/status', function()
  local shown = lua([[
    local client = vim.lsp.get_clients({ name = 'switchboard_ls' })[1]
    local handler = client.handlers['switchboard/status'] or client.config.handlers['switchboard/status']
    handler(nil, {
      serving = 'gpt',
      providers = {
        { name = 'claude', kind = 'anthropic', state = 'down', detail = '529 overloaded x3' },
        { name = 'gpt', kind = 'openai', state = 'healthy' },
      },
      cache = { entries = 1, hits = 0, misses = 1 },
    }, { client_id = client.id, method = 'switchboard/status' })
    return require('switchboard').statusline()
  ]])
  eq('sb: gpt (claude down)', shown, 'statusline')
end)

test('the legacy nvim-lspconfig entry registers switchboard_ls from the same config', function()
  local got = lua([[
    -- A stand-in for nvim-lspconfig's registry, enough to see what the entry registers.
    local configs, setup_opts = {}, nil
    package.loaded['lspconfig.configs'] = configs
    package.loaded['lspconfig.util'] = {
      root_pattern = function(...)
        local markers = { ... }
        return function() return table.concat(markers, ',') end
      end,
    }
    package.loaded['lspconfig'] = setmetatable({}, { __index = function(_, name)
      return { setup = function(opts) setup_opts = { name = name, opts = opts } end }
    end })
    require('switchboard.lspconfig').setup({ init_options = { completion = { max_tokens = 64 } } })
    for _, m in ipairs({ 'lspconfig', 'lspconfig.configs', 'lspconfig.util' }) do
      package.loaded[m] = nil
    end
    local d = configs.switchboard_ls.default_config
    return { cmd = d.cmd, root = d.root_dir('/x/y.py'), single = d.single_file_support,
      has_handler = d.handlers['switchboard/status'] ~= nil, attach = type(d.on_attach),
      setup = setup_opts }
  ]])
  eq({ 'switchboard-ls' }, got.cmd, 'cmd')
  eq('.switchboard.toml,.git', got.root, 'root markers')
  eq(true, got.single, 'single_file_support')
  eq(true, got.has_handler, 'switchboard/status handler')
  eq('function', got.attach, 'on_attach')
  eq({ name = 'switchboard_ls', opts = { init_options = { completion = { max_tokens = 64 } } } },
    got.setup, 'setup() call')
end)

-- :checkhealth switchboard ----------------------------------------------------------------------

local LS_VERSION = vim.trim(vim.system({ LS, '--version' }, { text = true }):wait(TIMEOUT).stdout or '')

local function normal_mode()
  input('<Esc>')
  wait_for('Normal mode', function()
    return mode() == 'n'
  end)
end

--- Runs :checkhealth switchboard in the child with `env` set for the commands it runs, and
--- returns the report's text (the health:// buffer), closing it again.
local function checkhealth(env)
  normal_mode()
  return lua([[
    local env = ...
    local saved = {}
    for k, v in pairs(env) do
      saved[k] = vim.env[k] or vim.NIL
      vim.env[k] = v
    end
    vim.cmd('checkhealth switchboard')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('tabclose')
    pcall(vim.cmd.bwipeout, 'health://')
    for k, v in pairs(saved) do
      vim.env[k] = v ~= vim.NIL and v or nil
    end
    return text
  ]], env or vim.empty_dict())
end

--- The report's line that holds `needle`, which must be reported as `level` (OK, WARNING, ERROR).
local function report_line(report, needle, level)
  for line in vim.gsplit(report, '\n', { plain = true }) do
    if line:find(needle, 1, true) then
      if level and not line:find(level, 1, true) then
        error(('%q is not reported as %s: %s'):format(needle, level, line), 2)
      end
      return line
    end
  end
  error(('no line with %q in the report:\n%s'):format(needle, report), 2)
end

local SECRET = 'sk-ant-e2e-never-shown-0123456789'

test(':checkhealth switchboard: the binary and its version, keys, provider states, last status', function()
  -- The config files and environment as the CLI reads them: claude with its key, gpt without.
  local config = tmp .. '/config/health.toml'
  vim.fn.writefile({
    '[[provider]]', 'name = "claude"', 'kind = "anthropic"', 'model = "claude-haiku-4-5"',
    'status_page = ""',
    '[[provider]]', 'name = "gpt"', 'kind = "openai"', 'model = "gpt-4.1-mini"', 'status_page = ""',
  }, config)
  -- What another editor's server concluded about claude two minutes ago (docs/STATS.md).
  vim.fn.writefile({ vim.json.encode({ type = 'change', at = os.time() - 120, provider = 'claude',
    from = 'healthy', to = 'down', reason = '529 retryable', session = 'other-editor' }) },
    tmp .. '/state/switchboard/stats-v1.jsonl', 'a')
  local report = checkhealth({ SWITCHBOARD_CONFIG = config, ANTHROPIC_API_KEY = SECRET, OPENAI_API_KEY = '' })
  assert(not report:find('Failed to run healthcheck', 1, true), report)
  assert(LS_VERSION:find('^switchboard%-ls '), 'version: ' .. LS_VERSION)
  report_line(report, ('%s (%s)'):format(LS_VERSION, LS), 'OK')
  report_line(report, 'user file: ' .. config, nil)
  report_line(report, 'no config problems', 'OK')
  report_line(report, 'claude (anthropic): key present (ANTHROPIC_API_KEY)', 'OK')
  report_line(report, 'gpt (openai): no key', 'WARNING')
  report_line(report, 'claude (anthropic) lately, in a running server: down — 529 retryable (2 min ago)',
    'WARNING')
  report_line(report, 'fake (openai-fim, from init_options): no key (OPENAI_FIM_API_KEY not set', nil)
  report_line(report, 'switchboard_ls is running', 'OK')
  report_line(report, 'fake (openai-fim, fake-model): healthy', 'OK')
  report_line(report, 'last status from the server', nil)
  assert(not report:find(SECRET, 1, true), 'the key itself is in the report')
  if env.SB_TEST_SHOW_REPORT then
    log(report)
  end
end)

test(':checkhealth switchboard: a config file that does not parse is an error that names it', function()
  local bad = tmp .. '/config/bad.toml'
  vim.fn.writefile({ '[[provider]', 'name = "claude"' }, bad)
  local report = checkhealth({ SWITCHBOARD_CONFIG = bad })
  report_line(report, 'config problem: ' .. bad, 'ERROR')
  report_line(report, 'user file: ' .. bad .. ' (ignored', nil)
end)

test(':checkhealth switchboard: a provider that is down is a warning with what to do', function()
  -- The last status the server sent, as the handler receives it (the live one is healthy).
  local report = lua([[
    local switchboard = require('switchboard')
    local client = switchboard.get_client()
    local request_sync = client.request_sync
    client.request_sync = function() return nil end -- the server does not answer in time
    switchboard.on_status({ serving = 'fake', providers = {
      { name = 'fake', kind = 'openai-fim', state = 'down', detail = '529 overloaded x3', retry_in_ms = 4000 },
    } }, client.id)
    vim.cmd('checkhealth switchboard')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('tabclose')
    pcall(vim.cmd.bwipeout, 'health://')
    client.request_sync = request_sync
    return text
  ]])
  report_line(report, 'switchboard.status did not answer', 'WARNING')
  report_line(report, 'from the last switchboard/status', nil)
  local line = report_line(report, 'fake (openai-fim): down — 529 overloaded x3 (retry in 4s)', 'WARNING')
  assert(line, report)
  report_line(report, ':SwitchboardRetry fake', nil)
end)

test(':checkhealth switchboard: a missing binary is an error with how to install it', function()
  local report = lua([[
    local switchboard = require('switchboard')
    local server_path = switchboard.server_path
    switchboard.server_path = function() return '/nonexistent/switchboard-ls' end
    vim.cmd('checkhealth switchboard')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('tabclose')
    pcall(vim.cmd.bwipeout, 'health://')
    switchboard.server_path = server_path
    return text
  ]])
  report_line(report, '`/nonexistent/switchboard-ls` was not found', 'ERROR')
  report_line(report, 'cargo install --path .', nil)
end)

-- :Switchboard stats ----------------------------------------------------------------------------

--- Runs `:Switchboard ARGS` with the stats clock fixed and waits for the stats buffer.
local function switchboard_stats(args)
  normal_mode()
  lua('vim.env.SWITCHBOARD_STATS_NOW = ...; vim.cmd("Switchboard " .. select(2, ...))', STATS_NOW, args)
  local shown = wait_for('the switchboard://stats buffer', function()
    return lua([[
      local buf = vim.fn.bufnr('switchboard://stats')
      if buf == -1 or vim.api.nvim_get_current_buf() ~= buf then
        return nil
      end
      return { buf = buf, lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false),
        buftype = vim.bo[buf].buftype, listed = vim.bo[buf].buflisted,
        modifiable = vim.bo[buf].modifiable, windows = #vim.api.nvim_tabpage_list_wins(0) }
    ]])
  end)
  lua('vim.env.SWITCHBOARD_STATS_NOW = nil')
  return shown
end

--- `q` closes the stats window and its buffer goes.
local function close_stats(shown)
  input('q')
  wait_for('q to close the stats window', function()
    return lua('return vim.fn.bufexists(...) == 0', shown.buf)
  end)
  eq(shown.windows - 1, lua('return #vim.api.nvim_tabpage_list_wins(0)'), 'windows after q')
end

test(':Switchboard stats shows switchboard-ls stats in a scratch buffer that q closes', function()
  local shown = switchboard_stats('stats')
  local text = table.concat(shown.lines, '\n')
  assert(text:find('Switchboard — last 7 days', 1, true), text)
  assert(text:find('\nclaude +30 +40%%'), 'no claude row:\n' .. text)
  assert(text:find('\ngpt +18 +50%%'), 'no gpt row:\n' .. text)
  assert(text:find('claude down once, 30 min in all', 1, true), 'no summary:\n' .. text)
  eq('nofile', shown.buftype, 'buftype')
  eq(false, shown.listed, 'buflisted')
  eq(false, shown.modifiable, 'modifiable')
  close_stats(shown)
  eq({ 'stats' }, lua('return vim.fn.getcompletion("Switchboard ", "cmdline")'), 'subcommands')
  eq({ '--since', '--json' }, lua('return vim.fn.getcompletion("Switchboard stats --", "cmdline")'),
    'stats flags')
end)

test(':Switchboard stats --json --since 24h passes its arguments to switchboard-ls stats', function()
  local shown = switchboard_stats('stats --json --since 24h')
  local report = vim.json.decode(table.concat(shown.lines, '\n'))
  eq('last 24 hours', report.window, 'window')
  local names = vim.tbl_map(function(p)
    return p.name
  end, report.providers)
  eq({ 'claude', 'gpt' }, { names[1], names[2] }, 'providers, most served first')
  close_stats(shown)
end)

test(':Switchboard stats says why switchboard-ls stats failed, and opens nothing', function()
  normal_mode()
  lua([[
    _G.sb_notified = {}
    _G.sb_notify = _G.sb_notify or vim.notify
    vim.notify = function(msg, level)
      table.insert(_G.sb_notified, { msg = msg, level = level })
    end
    vim.cmd('Switchboard stats --since nonsense')
  ]])
  local notified = wait_for('an error message', function()
    return lua('return _G.sb_notified[1]')
  end)
  lua('vim.notify = _G.sb_notify')
  eq(vim.log.levels.ERROR, notified.level, 'level')
  assert(notified.msg:find('switchboard-ls stats --since nonsense', 1, true), notified.msg)
  assert(notified.msg:find('exit 2', 1, true), notified.msg)
  eq(-1, lua('return vim.fn.bufnr("switchboard://stats")'), 'no stats buffer')
end)

test(':Switchboard stats closes with q when it is the only window', function()
  local shown = switchboard_stats('stats')
  lua('vim.cmd.only()')
  input('q')
  wait_for('q to remove the stats buffer', function()
    return lua('return vim.fn.bufexists(...) == 0', shown.buf)
  end)
  eq(file, lua('return vim.api.nvim_buf_get_name(0)'), 'back in the file')
end)

if OUTAGE then
  test(':SwitchboardStatus runs switchboard.status and shows the providers', function()
    local result = lua([[
      local done, out
      require('switchboard').execute('switchboard.status', {}, function(err, result)
        done, out = true, err and { err = err } or { result = result }
      end)
      vim.wait(...,  function() return done end, 10)
      return out
    ]], TIMEOUT)
    assert(result and result.result, 'switchboard.status failed: ' .. vim.inspect(result))
    local names = vim.tbl_map(function(p)
      return p.name
    end, result.result.providers or {})
    assert(vim.tbl_contains(names, 'fake'), 'providers: ' .. vim.inspect(names))
    -- The command itself, as typed.
    lua('vim.cmd("SwitchboardStatus")')
    wait_for('the statusline to show the fake provider', function()
      return lua('return require("switchboard").statusline()'):find('fake', 1, true)
    end)
  end)

  test(':SwitchboardRetry fake sends switchboard.retry with a JSON string argument', function()
    local result = lua([[
      local done, out
      require('switchboard').execute('switchboard.retry', { 'fake' }, function(err, result)
        done, out = true, { err = err, result = result }
      end)
      vim.wait(..., function() return done end, 10)
      return out
    ]], TIMEOUT)
    assert(result and not result.err, 'switchboard.retry failed: ' .. vim.inspect(result))
  end)

  test('on a provider outage a switchboard diagnostic appears and the statusline says so', function()
    fake_default({ type = 'error', status = 529 })
    -- Each attempt is a retryable failure; breaker_failures (3) opens the circuit. Distinct
    -- contexts so no cached answer stands in.
    for i = 1, 4 do
      type_at_end({ ('def outage_%d(a, b):'):format(i), '    ' }, 2)
      request_completion()
    end
    local diags = wait_for('a switchboard diagnostic', function()
      local d = lua([[return vim.tbl_filter(function(d) return d.source == 'switchboard' end,
        vim.diagnostic.get(0))]])
      return #d > 0 and d or nil
    end)
    local codes = vim.tbl_map(function(d)
      return d.code
    end, diags)
    assert(vim.tbl_contains(codes, 'provider-down'), 'codes: ' .. vim.inspect(codes))
    wait_for('the statusline to show the outage', function()
      return lua('return require("switchboard").statusline()'):find('fake down', 1, true)
    end)

    -- Recovery: the provider answers again, the user retries, the diagnostic goes away.
    fake_default({ type = 'ok', text = 'return a' })
    lua('vim.cmd("SwitchboardRetry fake")')
    type_at_end({ 'def recovered(a, b):', '    ' }, 2)
    request_completion()
    wait_for('the switchboard diagnostic to clear', function()
      return lua([[return #vim.tbl_filter(function(d) return d.source == 'switchboard' end,
        vim.diagnostic.get(0)) == 0]])
    end)
  end)
else
  skipped = skipped + 3
  log('skip - :SwitchboardStatus, :SwitchboardRetry, outage diagnostics and status notification'
    .. ' (outage surfacing: set SWITCHBOARD_E2E_OUTAGE=1)')
end

-- Only the lsp file, as the top-level README's quick path installs it ---------------------------

local alone_variants = {
  { label = 'lsp file alone', provider = 'fake-alone', own_completion = '0' },
  { label = "lsp file alone + the user's own vim.lsp.completion.enable", provider = 'fake-own',
    own_completion = '1' },
}
for _, variant in ipairs(alone_variants) do
  chan = start_child({ SB_TEST_INSTALL = 'lsp-file', SB_TEST_LSP_FILE_DIR = lsp_file_dir,
    SB_TEST_OWN_COMPLETION = variant.own_completion, SB_TEST_PROVIDER = variant.provider })
  local accepts = 0
  --- Accepts `text` typed at the end of `before` (or before byte `at[2]` of line `at[1]`); the
  --- cursor after <Esc> sits on the suggestion's last character.
  local function accept(text, before, expected, cursor, at)
    fake_default({ type = 'ok', text = text })
    if at then
      type_before(before, at[1], at[2])
    else
      type_at_end(before, #before)
    end
    complete_and_accept()
    accepts = accepts + 1
    eq(expected, lines(), 'buffer')
    if cursor then
      eq(cursor, vim.rpcrequest(chan, 'nvim_win_get_cursor', 0), 'cursor at the end of the suggestion')
    end
  end

  test(variant.label .. ': attaches from the copied file, without lua/switchboard', function()
    wait_for('the child Neovim', function()
      return mode() == 'n'
    end)
    local got = wait_for('switchboard_ls to attach', function()
      return lua([[
        local c = vim.lsp.get_clients({ bufnr = 0, name = 'switchboard_ls' })[1]
        return c and c.initialized and {
          files = vim.api.nvim_get_runtime_file('lsp/switchboard_ls.lua', true),
          module = (pcall(require, 'switchboard')),
          status_ui = c.capabilities.experimental.switchboardStatus,
          errmsg = vim.v.errmsg,
        } or nil
      ]])
    end)
    eq({ lsp_file_dir .. '/lsp/switchboard_ls.lua' }, vim.tbl_map(vim.fn.resolve, got.files), 'lsp file')
    eq(false, got.module, 'the switchboard module is not installed')
    eq(false, got.status_ui, 'experimental.switchboardStatus (nothing here shows it)')
    eq('', got.errmsg, 'no error on start')
  end)

  test(variant.label .. ': <C-x><C-o> <C-y> inserts all of "return a + b"', function()
    accept('return a + b', { 'def add(a, b):', '    ' }, { 'def add(a, b):', '    return a + b' }, { 2, 15 })
  end)

  test(variant.label .. ': accepting mid-word keeps the typed word once', function()
    accept('urn a * b', { 'def times(a, b):', '    ret' }, { 'def times(a, b):', '    return a * b' })
  end)

  test(variant.label .. ': a multi-line suggestion is inserted whole, nested indentation kept', function()
    lua('vim.bo.autoindent = true; vim.bo.smartindent = true')
    accept('for x in xs:\n        if x > best:\n            best = x\n    return best',
      { 'def biggest(xs):', '    best = xs[0]', '    ' },
      { 'def biggest(xs):', '    best = xs[0]', '    for x in xs:', '        if x > best:',
        '            best = x', '    return best' }, { 6, 14 })
  end)

  test(variant.label .. ': a multi-line suggestion mid-line keeps the text after the cursor', function()
    accept('a,\n    b', { 'pair = (', '    )' }, { 'pair = (', '    a,', '    b)' }, { 3, 4 }, { 2, 4 })
  end)

  test(variant.label .. ': in a CRLF file a multi-line suggestion leaves no CR in the lines', function()
    lua('vim.bo.fileformat = "dos"')
    accept('if a:\r\n        return a\r\n    return b', { 'def first(a, b):', '    ' },
      { 'def first(a, b):', '    if a:', '        return a', '    return b' })
    lua('vim.bo.fileformat = "unix"')
  end)

  test(variant.label .. ': accepting runs switchboard.accepted once', function()
    record_commands()
    accept('return a - b', { 'def minus(a, b):', '    ' }, { 'def minus(a, b):', '    return a - b' })
    eq(1, #accepted_commands(), 'switchboard.accepted requests for one accept')
  end)

  if variant.own_completion == '0' then
    test(variant.label .. ': the accepts made with <C-y> are counted in switchboard-ls stats', function()
      -- The server writes its counts when it shuts down (docs/STATS.md).
      lua([[for _, c in ipairs(vim.lsp.get_clients()) do c:stop() end]])
      wait_for('the server to stop', function()
        return lua('return #vim.lsp.get_clients()') == 0
      end)
      local result = vim.system({ LS, 'stats', '--json', '--since', '24h' },
        { text = true, env = { XDG_STATE_HOME = tmp .. '/state' } }):wait(TIMEOUT)
      eq(0, result.code, 'switchboard-ls stats exit code: ' .. tostring(result.stderr))
      local row = vim.iter(vim.json.decode(result.stdout).providers):find(function(p)
        return p.name == variant.provider
      end)
      assert(row, 'no ' .. variant.provider .. ' row in ' .. result.stdout)
      eq(accepts, row.accepted, 'accepted')
    end)
  end
end

cleanup()

log(('neovim: %d passed, %d failed, %d skipped'):format(passed, failed, skipped))
os.exit(failed == 0 and passed > 0 and 0 or 1)

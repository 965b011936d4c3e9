-- :checkhealth switchboard — is the server there, is its config sound, which providers have
-- their keys and how they are doing, and what the server said last.
--
-- The config and keys are read the way every `switchboard-ls` command reads them (`config`,
-- `status --json`: the config files and the environment, and what servers lately concluded about
-- each provider, from the stats file); providers set in Neovim's
-- `init_options` are checked here against the environment; states come from the running server
-- (`switchboard.status`), else from the last `switchboard/status` notification.

local M = {}

local health = vim.health

local CLIENT_NAME = 'switchboard_ls'
local TIMEOUT_MS = 12000 -- `status --json` reads status pages, each bounded at 5 s

-- DESIGN.md §3: the variable each kind's key comes from unless `api_key_env` says otherwise,
-- and whether the kind is unusable without it.
local KEY_ENV = {
  anthropic = { var = 'ANTHROPIC_API_KEY', required = true },
  openai = { var = 'OPENAI_API_KEY', required = true },
  gemini = { var = 'GEMINI_API_KEY', required = true },
  codestral = { var = 'CODESTRAL_API_KEY', required = true },
  ['openai-fim'] = { var = 'OPENAI_FIM_API_KEY', required = false },
}

--- Runs `cmd` to its end (or TIMEOUT_MS).
---@return vim.SystemCompleted? result, string? error
local function run(cmd, cwd)
  local ok, obj = pcall(vim.system, cmd, { text = true, cwd = cwd })
  if not ok then
    return nil, tostring(obj)
  end
  local result = obj:wait(TIMEOUT_MS)
  if result.code == 124 then -- vim.system's code for a process it killed on timeout
    return nil, ('no answer within %d ms'):format(TIMEOUT_MS)
  end
  return result
end

local function first_line(text)
  return vim.split(vim.trim(text or ''), '\n', { plain = true })[1] or ''
end

--- The binary and its version. Returns its full path, or nil when it cannot be run.
---@return string?
local function check_binary()
  health.start('switchboard-ls')
  local path = require('switchboard').server_path()
  local exe = vim.fn.exepath(path)
  if exe == '' then
    health.error(('`%s` was not found or is not executable'):format(path), {
      'Install it: `cargo install --path .` in the Switchboard repository puts it in ~/.cargo/bin.',
      "Or point Neovim at it: vim.lsp.config('switchboard_ls', { cmd = { '/path/to/switchboard-ls' } })",
    })
    return nil
  end
  local result, err = run({ exe, '--version' })
  if not result or result.code ~= 0 then
    local why = err or first_line(result.stderr)
    health.error(('`%s --version` failed: %s'):format(exe, why ~= '' and why or ('exit ' .. result.code)))
    return nil
  end
  health.ok(('%s (%s)'):format(first_line(result.stdout), exe))
  return exe
end

--- Config problems and each configured provider's key, as the CLI sees them.
---@param exe string
---@param cwd string where a workspace `.switchboard.toml` is looked for
local function check_config(exe, cwd)
  health.start('switchboard-ls config (files and environment)')
  local config, err = run({ exe, 'config' }, cwd)
  if not config then
    health.error('`switchboard-ls config` did not run: ' .. err)
    return
  end
  if config.code ~= 0 then
    health.error(('`switchboard-ls config` failed (exit %d): %s'):format(config.code,
      first_line(config.stderr)))
  end
  for _, line in ipairs(vim.split(config.stdout or '', '\n', { plain = true })) do
    local file = line:match('^# (user file: .*)$') or line:match('^# (workspace file: .*)$')
    if file then
      health.info(file)
    end
  end

  local status
  local result, status_err = run({ exe, 'status', '--json' }, cwd)
  if result then
    local ok, decoded = pcall(vim.json.decode, result.stdout or '')
    status = ok and type(decoded) == 'table' and decoded or nil
  end
  if not status then
    health.error('`switchboard-ls status --json` gave no answer: '
      .. (status_err or first_line(result and result.stderr)))
    return
  end
  local problems = type(status.problems) == 'table' and status.problems or {}
  for _, problem in ipairs(problems) do
    health.error('config problem: ' .. tostring(problem), 'Fix it, then run `switchboard-ls config` to check.')
  end
  if #problems == 0 then
    health.ok('no config problems')
  end

  for _, p in ipairs(type(status.providers) == 'table' and status.providers or {}) do
    local name = ('%s (%s)'):format(p.name, p.kind)
    local var = p.key_env ~= vim.NIL and p.key_env or nil
    if p.key == 'present' then
      health.ok(('%s: key present (%s)'):format(name, var or 'set'))
    elseif p.key == 'missing' then
      health.warn(('%s: no key, so it is skipped'):format(name),
        ('Set %s in the environment Neovim starts from.'):format(var or 'its key variable'))
    else
      health.info(('%s: key %s'):format(name, tostring(p.key)))
    end
    -- What a server (this one or another editor's) concluded lately, from the stats file.
    local recent = type(p.recent) == 'table' and p.recent or nil
    if recent and type(recent.said) == 'string' then
      health.warn(('%s lately, in a running server: %s'):format(name, recent.said))
    end
  end
  if status.cloud_usable == false and type(status.reason) == 'string' then
    health.warn('no cloud provider usable from the files and environment: ' .. status.reason)
  end
end

--- Providers set in Neovim's init_options (the top config layer, which the CLI does not see).
---@param client vim.lsp.Client
local function check_init_options(client)
  local providers = vim.tbl_get(client.config, 'init_options', 'provider')
  if type(providers) ~= 'table' or #providers == 0 then
    return
  end
  for _, p in ipairs(providers) do
    local known = KEY_ENV[p.kind]
    local var = p.api_key_env or (known and known.var)
    local name = ('%s (%s, from init_options)'):format(tostring(p.name), tostring(p.kind))
    if not var then
      health.info(name .. ': no key needed')
    elseif vim.env[var] and vim.env[var] ~= '' then
      health.ok(('%s: key present (%s)'):format(name, var))
    elseif known and not known.required and not p.api_key_env then
      health.info(('%s: no key (%s not set; optional for this kind)'):format(name, var))
    else
      health.warn(('%s: no key (%s not set), so it is skipped'):format(name, var),
        ('Set %s in the environment Neovim starts from.'):format(var))
    end
  end
end

--- One line per provider of a status payload (DESIGN.md §5).
---@param status table
local function report_status(status)
  for _, p in ipairs(type(status.providers) == 'table' and status.providers or {}) do
    local text = ('%s (%s%s): %s'):format(p.name, tostring(p.kind),
      type(p.model) == 'string' and ', ' .. p.model or '', tostring(p.state))
    if type(p.detail) == 'string' and p.detail ~= '' then
      text = text .. ' — ' .. p.detail
    end
    if type(p.retry_in_ms) == 'number' and p.retry_in_ms > 0 then
      text = text .. (' (retry in %ds)'):format(math.ceil(p.retry_in_ms / 1000))
    end
    local latency = type(p.latency_ms) == 'table' and p.latency_ms or nil
    if latency and type(latency.p50) == 'number' then
      text = text .. (', p50 %d ms'):format(latency.p50)
    end
    if p.state == 'healthy' then
      health.ok(text)
    elseif p.state == 'disabled' then
      health.warn(text, (':SwitchboardEnable %s uses it again.'):format(p.name))
    else
      health.warn(text, (':SwitchboardRetry %s tries it again now.'):format(p.name))
    end
    local page = type(p.status_page) == 'table' and p.status_page or nil
    if page and page.indicator and page.indicator ~= 'none' then
      health.warn(('%s status page: %s (%s)'):format(p.name, tostring(page.description),
        tostring(page.indicator)))
    end
  end
  health.info('serving: ' .. tostring(status.serving ~= vim.NIL and status.serving or 'none yet'))
  local cache = type(status.cache) == 'table' and status.cache or nil
  if cache then
    health.info(('cache: %s entries, %s hits, %s misses'):format(tostring(cache.entries),
      tostring(cache.hits), tostring(cache.misses)))
  end
end

--- The running server: its providers' states, what it last said, its diagnostics.
---@param client vim.lsp.Client?
local function check_server(client)
  health.start('switchboard_ls in this Neovim')
  local switchboard = require('switchboard')
  if not client then
    health.info('switchboard_ls is not running: it starts when a file is opened after '
      .. "vim.lsp.enable('switchboard_ls').")
  else
    health.ok(('switchboard_ls is running (client %d, root %s, %d buffer(s))'):format(client.id,
      tostring(client.root_dir), vim.tbl_count(client.attached_buffers)))
    check_init_options(client)
  end

  local status, how
  if client then
    local response = client:request_sync('workspace/executeCommand',
      { command = 'switchboard.status', arguments = {} }, 3000)
    if response and not response.err and type(response.result) == 'table' then
      status, how = response.result, 'now (switchboard.status)'
    else
      health.warn('switchboard.status did not answer: '
        .. tostring(response and response.err and response.err.message or 'timed out'))
    end
  end
  if not status and switchboard.last_status then
    status, how = switchboard.last_status, 'from the last switchboard/status'
  end
  if status then
    health.info('provider states, ' .. how .. ':')
    report_status(status)
  end
  if switchboard.last_status_at then
    health.info(('last status from the server %d s ago: %s'):format(
      os.time() - switchboard.last_status_at, switchboard.statusline()))
  else
    health.info('no status received from the server yet')
  end

  local diagnostics = vim.tbl_filter(function(d)
    return d.source == 'switchboard'
  end, vim.diagnostic.get(nil))
  for _, d in ipairs(diagnostics) do
    local text = ('diagnostic %s: %s'):format(tostring(d.code), d.message)
    if d.code == 'config-error' or d.code == 'auth-error' or d.code == 'all-down' then
      health.error(text)
    else
      health.warn(text)
    end
  end
end

function M.check()
  local client = require('switchboard').get_client()
  local exe = check_binary()
  if exe then
    check_config(exe, client and client.root_dir or vim.fn.getcwd())
  end
  check_server(client)
end

return M

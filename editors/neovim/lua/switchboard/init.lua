-- Switchboard for Neovim: completion set-up, a statusline component and user commands.
--
--   require('switchboard').setup({ ... })   -- optional; options below
--   vim.lsp.enable('switchboard_ls')
--
--   vim.o.statusline = '%f %= %{v:lua.require("switchboard").statusline()} '
--
-- Commands: :SwitchboardStatus, :SwitchboardRetry [name], :SwitchboardDisable {name},
-- :SwitchboardEnable [name], :SwitchboardClearCache, :SwitchboardOpenStatusPage {name},
-- :Switchboard stats [--since 24h] [--json]. Health: :checkhealth switchboard (health.lua).

local completion = require('switchboard.completion')

local M = {}

local CLIENT_NAME = 'switchboard_ls'

---@class switchboard.Opts
---@field completion? switchboard.CompletionOpts
---@field commands? boolean create the :Switchboard* commands; default true
local options = { completion = {}, commands = true }

--- The last `switchboard/status` payload (DESIGN.md §5), from a notification or the
--- `switchboard.status` command.
---@type table?
M.last_status = nil
--- When `last_status` arrived (os.time()), for :checkhealth.
---@type integer?
M.last_status_at = nil

---@param opts? switchboard.Opts
function M.setup(opts)
  options = vim.tbl_deep_extend('force', options, opts or {})
  if options.commands then
    M.create_commands()
  end
end

---@return vim.lsp.Client?
local function get_client()
  return vim.lsp.get_clients({ name = CLIENT_NAME, bufnr = 0 })[1]
    or vim.lsp.get_clients({ name = CLIENT_NAME })[1]
end
M.get_client = get_client

--- The switchboard-ls binary the LSP config starts (its `cmd[1]`), for the CLI commands.
---@return string
function M.server_path()
  local client = get_client()
  local cmd = client and client.config.cmd
  if type(cmd) ~= 'table' then
    local ok, config = pcall(function()
      return vim.lsp.config[CLIENT_NAME]
    end)
    cmd = ok and config and config.cmd
  end
  return type(cmd) == 'table' and type(cmd[1]) == 'string' and cmd[1] or 'switchboard-ls'
end

--- Receives a status payload (the `switchboard/status` handler in lsp/switchboard_ls.lua).
---@param status table
---@param client_id? integer
function M.on_status(status, client_id)
  if type(status) ~= 'table' then
    return
  end
  M.last_status = status
  M.last_status_at = os.time()
  vim.api.nvim_exec_autocmds('User', {
    pattern = 'SwitchboardStatus',
    modeline = false,
    data = { status = status, client_id = client_id },
  })
  vim.cmd.redrawstatus({ bang = true })
end

---@param client vim.lsp.Client
---@param bufnr integer
function M.attach(client, bufnr)
  completion.attach(client, bufnr, options.completion)
  if options.commands then
    M.create_commands()
  end
  if not M.last_status then
    M.execute('switchboard.status', {}, function(err, result)
      if not err and result then
        M.on_status(result, client.id)
      end
    end)
  end
end

--- The statusline text: the provider serving completions, and any that are not healthy.
--- "" until the server has told its state. Examples: `sb: claude`, `sb: gpt (claude down)`.
---@return string
function M.statusline()
  local status = M.last_status
  if not status or type(status.providers) ~= 'table' then
    return ''
  end
  local unwell = {}
  for _, provider in ipairs(status.providers) do
    if provider.state and provider.state ~= 'healthy' then
      table.insert(unwell, ('%s %s'):format(provider.name, provider.state))
    end
  end
  local serving = type(status.serving) == 'string' and status.serving or 'none'
  if #unwell == 0 then
    return 'sb: ' .. serving
  end
  return ('sb: %s (%s)'):format(serving, table.concat(unwell, ', '))
end

--- Runs a switchboard.* command on the server (arguments are JSON strings, DESIGN.md §5).
---@param command string
---@param arguments string[]
---@param on_result? fun(err: lsp.ResponseError?, result: any)
function M.execute(command, arguments, on_result)
  local client = get_client()
  if not client then
    vim.notify('switchboard: switchboard-ls is not running', vim.log.levels.WARN)
    return
  end
  client:request('workspace/executeCommand', { command = command, arguments = arguments },
    function(err, result)
      if on_result then
        on_result(err, result)
      elseif err then
        vim.notify(('switchboard: %s'):format(err.message), vim.log.levels.ERROR)
      else
        vim.notify(('switchboard: %s done'):format(command))
      end
    end)
end

--- One line per provider, for :SwitchboardStatus.
---@param status table
---@return string
function M.format_status(status)
  local lines = { ('serving: %s'):format(tostring(status.serving)) }
  for _, p in ipairs(status.providers or {}) do
    local line = ('  %-12s %-11s %-9s %s'):format(p.name, p.kind or '', p.state or '?', p.model or '')
    if type(p.detail) == 'string' and p.detail ~= '' then
      line = line .. ' — ' .. p.detail
    end
    if type(p.retry_in_ms) == 'number' and p.retry_in_ms > 0 then
      line = line .. (' (retry in %ds)'):format(math.ceil(p.retry_in_ms / 1000))
    end
    table.insert(lines, line)
  end
  local cache = status.cache
  if type(cache) == 'table' then
    table.insert(lines, ('cache: %s entries, %s hits, %s misses'):format(
      tostring(cache.entries), tostring(cache.hits), tostring(cache.misses)))
  end
  return table.concat(lines, '\n')
end

local function provider_names()
  local names = {}
  for _, p in ipairs((M.last_status or {}).providers or {}) do
    table.insert(names, p.name)
  end
  return names
end

local created = false
function M.create_commands()
  if created then
    return
  end
  created = true
  local function complete_names(arg_lead)
    return vim.tbl_filter(function(name)
      return vim.startswith(name, arg_lead)
    end, provider_names())
  end
  local function define(name, command, nargs, desc)
    vim.api.nvim_create_user_command(name, function(args)
      M.execute(command, args.fargs)
    end, { nargs = nargs, complete = nargs ~= 0 and complete_names or nil, desc = desc })
  end

  vim.api.nvim_create_user_command('SwitchboardStatus', function()
    M.execute('switchboard.status', {}, function(err, result)
      if err then
        vim.notify('switchboard: ' .. err.message, vim.log.levels.ERROR)
        return
      end
      M.on_status(result)
      vim.notify(M.format_status(result))
    end)
  end, { nargs = 0, desc = 'Switchboard: show providers, their health and the cache' })
  define('SwitchboardRetry', 'switchboard.retry', '?', 'Switchboard: retry a provider (all if none) now')
  define('SwitchboardDisable', 'switchboard.disable', 1, 'Switchboard: stop using a provider this session')
  define('SwitchboardEnable', 'switchboard.enable', '?', 'Switchboard: use a disabled provider again')
  define('SwitchboardClearCache', 'switchboard.clearCache', 0, 'Switchboard: empty the completion cache')
  define('SwitchboardOpenStatusPage', 'switchboard.openStatusPage', 1,
    "Switchboard: open a provider's status page")

  local subcommands = {
    stats = function(args)
      require('switchboard.stats').open(args)
    end,
  }
  vim.api.nvim_create_user_command('Switchboard', function(args)
    local sub = subcommands[args.fargs[1] or '']
    if not sub then
      vim.notify(('switchboard: unknown subcommand %q (known: %s)'):format(args.fargs[1] or '',
        table.concat(vim.tbl_keys(subcommands), ', ')), vim.log.levels.ERROR)
      return
    end
    sub(vim.list_slice(args.fargs, 2))
  end, {
    nargs = '+',
    desc = 'Switchboard: stats [--since 24h] [--json]',
    complete = function(arg_lead, cmdline)
      local words = vim.split(cmdline, '%s+', { trimempty = true })
      -- Completing the first argument: the subcommand; after it, its flags.
      local first = #words == 1 or (#words == 2 and arg_lead ~= '')
      local candidates = first and vim.tbl_keys(subcommands) or { '--since', '--json' }
      return vim.tbl_filter(function(c)
        return vim.startswith(c, arg_lead)
      end, candidates)
    end,
  })
end

return M

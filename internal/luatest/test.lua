-- The module peacepie.test: what a test file of `peacepie test` uses
-- (docs/lua-api.md, "Testing a package").
local pp = require "peacepie"
local testing = require "peacepie_testing"

local t = {}
local tests = {}
local made = {}
local seq = 0

-- t.test(name, fn): a test; a file's tests run in the order they are
-- declared, each with the actors it makes removed after it.
function t.test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("t.test wants a name and a function: t.test(\"adds\", function() ... end)", 2)
  end
  tests[#tests + 1] = { name = name, fn = fn }
end

function t._tests() return tests end
function t._begin() made = {} end
function t._finish()
  for i = #made, 1, -1 do
    pp.ask(pp.node(), "remove_actor", { name = made[i] }, 5)
  end
  made = {}
end

local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" or depth > 4 then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and k or ("[" .. tostring(k) .. "]")
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
t.show = show

local function equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function what(w) return w and (w .. ": ") or "" end

-- fail raises a failed assertion at the test's own line.
local function fail(text) error(testing.caller() .. ": " .. text, 0) end

-- t.eq(actual, expected, what): equal values (tables compared deeply).
function t.eq(actual, expected, w)
  if not equal(actual, expected) then
    fail(string.format("%sexpected %s, got %s", what(w), show(expected), show(actual)))
  end
end

-- t.ok(value, what): a value that is neither nil nor false.
function t.ok(value, w)
  if not value then
    fail(string.format("%sexpected a true value, got %s", what(w), show(value)))
  end
end

-- t.fail(what): fails the test here.
function t.fail(w) fail(tostring(w)) end

-- t.create(class, params): an actor of the package under test ("Class"),
-- or of another package ("pkg:Class"); returns its name.
function t.create(class, params)
  local pkg, cls = string.match(class, "^([%w_%-]+):([%w_]+)$")
  if not pkg then pkg, cls = testing.package(), class end
  seq = seq + 1
  local name = "t" .. seq .. "_" .. string.lower(cls)
  local r = pp.ask(pp.node(), "create_actor", { class_desc = { requires_dist = pkg, class = cls }, name = name, params = params }, 10)
  if not r or r.command ~= "actor_is_created" then
    fail(string.format("create %s: %s", class, show(r and r.body)))
  end
  made[#made + 1] = name
  return name
end

-- t.ask(actor, command, body, timeout): the reply {command = ..., body = ...}.
function t.ask(to, command, body, timeout)
  local r, err = pp.ask(to, command, body, timeout or 10)
  if not r then fail(string.format("ask %s %s: %s", tostring(to), command, tostring(err))) end
  return r
end

-- t.send(actor, command, body)
function t.send(to, command, body)
  local ok, err = pp.send(to, command, body)
  if ok == nil and err then fail(string.format("send %s %s: %s", tostring(to), command, tostring(err))) end
end

-- t.params(actor): its params, name → value (get_params).
function t.params(to)
  local r = t.ask(to, "get_params")
  local out = {}
  for _, p in ipairs(r.body and r.body.params or {}) do out[p.name] = p.value end
  return out
end

-- t.printed(): the lines actors printed since the last call, in order.
function t.printed()
  local lines = {}
  for line in string.gmatch(testing.printed(), "([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

-- t.advance(seconds): the fake clock moves on. First every actor handles
-- what it was sent; then the timers (every, after, sleep) due by then
-- fire in order, and the actors handle what they bring.
function t.advance(seconds)
  local err = testing.advance(seconds)
  if err ~= "" then fail(err) end
end

-- t.settle(): wait until every actor has handled what it was sent.
function t.settle()
  local err = testing.settle()
  if err ~= "" then fail(err) end
end

return t

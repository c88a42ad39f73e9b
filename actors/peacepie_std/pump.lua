-- Pump makes load: "send" {to, command, n, from?} sends n messages
-- {n = from..from+n-1} (from is 1 if not given) to an actor and answers
-- "sent"; "ask" {to, command, n} asks it n times, one after the other, and
-- answers "asked" {n, p50_us, p99_us, max_us} (each ask timed with
-- pp.clock), or the first failure.
local pp = require "peacepie"
local Pump = {}

function Pump:send(body)
  local send, to, cmd = pp.send, body.to, body.command
  local from = body.from or 1
  for i = from, from + body.n - 1 do
    send(to, cmd, { n = i })
  end
  return "sent", { n = body.n }
end

function Pump:ask(body)
  local ask, clock, to, cmd = pp.ask, pp.clock, body.to, body.command
  local took = {}
  for i = 1, body.n do
    local t0 = clock()
    local r, err = ask(to, cmd, { n = i })
    took[i] = clock() - t0
    if not r then error(err, 0) end
  end
  if #took == 0 then return "asked", { n = 0 } end
  table.sort(took)
  local function at(q) return took[math.max(1, math.ceil(q * #took))] * 1e6 end
  return "asked", { n = body.n, p50_us = at(0.5), p99_us = at(0.99), max_us = took[#took] * 1e6 }
end

return Pump

-- Pump makes load: "send" {to, command, n, from?} sends n messages
-- {n = from..from+n-1} (from is 1 if not given) to an actor and answers
-- "sent"; "ask" {to, command, n} asks it n times, one after the other, and
-- answers "asked" (or the first failure).
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
  local ask, to, cmd = pp.ask, body.to, body.command
  for i = 1, body.n do
    local r, err = ask(to, cmd, { n = i })
    if not r then error(err, 0) end
  end
  return "asked", { n = body.n }
end

return Pump

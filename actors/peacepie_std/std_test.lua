-- Tests of peacepie_std, run by `peacepie test actors/peacepie_std`.
local t = require "peacepie.test"

t.test("Echo echoes", function()
  local e = t.create("Echo")
  local r = t.ask(e, "echo", {n = 1, s = "x"})
  t.eq(r.command, "echoed")
  t.eq(r.body, {n = 1, s = "x"})
end)

t.test("Sequence counts in order and notes a gap", function()
  local s = t.create("Sequence")
  for n = 1, 3 do t.send(s, "next", {n = n}) end
  t.send(s, "next", {n = 5})
  local st = t.ask(s, "state").body
  t.eq(st.last, 5)
  t.eq(st.errors, 1)
end)

t.test("Pump sends a numbered stream", function()
  local s = t.create("Sequence")
  local p = t.create("Pump")
  t.eq(t.ask(p, "send", {to = s, command = "next", n = 100, from = 1}).command, "sent")
  local st = t.ask(s, "state").body
  t.eq(st.last, 100)
  t.eq(st.errors, 0)
end)

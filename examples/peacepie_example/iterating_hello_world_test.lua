-- Tests of IteratingHelloWorld, run by `peacepie test examples/peacepie_example`.
-- The clock is fake: t.advance moves it, and no test waits in real time.
local t = require "peacepie.test"

t.test("prints once at tick_start, then every period", function()
  local a = t.create("IteratingHelloWorld", { period = 2 })
  t.eq(t.ask(a, "tick_start").command, "tick_started")
  t.settle()
  t.eq(#t.printed(), 1, "lines at tick_start")
  t.advance(5) -- ticks at 2 and 4
  local lines = t.printed()
  t.eq(#lines, 2, "lines after 5 s")
  t.ok(string.find(lines[2], "Hello, World! (2)", 1, true), "the third line's number")
end)

t.test("stops at its limit", function()
  local a = t.create("IteratingHelloWorld", { period = 1, limit = 3 })
  t.ask(a, "tick_start")
  t.advance(60)
  t.eq(#t.printed(), 3, "lines with limit = 3")
  t.eq(t.params(a).index, 3)
end)

t.test("tick_stop stops it and resets the count", function()
  local a = t.create("IteratingHelloWorld", { period = 1 })
  t.ask(a, "tick_start")
  t.advance(3)
  t.eq(t.ask(a, "tick_stop").command, "tick_stopped")
  t.printed()
  t.advance(10)
  t.eq(#t.printed(), 0, "lines after tick_stop")
  t.eq(t.params(a).index, 0)
end)

-- IteratingHelloWorld prints a numbered "Hello, World!" every `period`
-- seconds after tick_start, at most `limit` times (nil: no limit).
local pp = require "peacepie"

local IteratingHelloWorld = {
  params = { period = 1, limit = pp.null, index = 0, is_ticking = false },
}

-- _arm (re)starts the ticker; the first line comes at once, as in the original.
function IteratingHelloWorld:_arm()
  pp.cancel(self._timer)
  pp.send(pp.name(), "tick")
  self._timer = pp.every(self.period, "tick")
end

-- start resumes ticking when is_ticking is set (a moved actor is sent start
-- in its new place).
function IteratingHelloWorld:start()
  if self.is_ticking then
    self:_arm()
  end
  return "started"
end

function IteratingHelloWorld:tick_start()
  if self.is_ticking then
    return "tick_already_started"
  end
  self.is_ticking = true
  self:_arm()
  return "tick_started"
end

function IteratingHelloWorld:tick_stop()
  if not self.is_ticking then
    return "tick_already_stopped"
  end
  pp.cancel(self._timer)
  self._timer = nil
  self.index = 0
  self.is_ticking = false
  return "tick_stopped"
end

function IteratingHelloWorld:tick()
  print(string.format('IteratingHelloWorld "%s" from "%s" says "Hello, World! (%d)"',
    pp.name(), pp.node(), self.index))
  self.index = self.index + 1
  if self.index == self.limit then
    pp.cancel(self._timer) -- is_ticking stays true until tick_stop
    self._timer = nil
  end
end

return IteratingHelloWorld

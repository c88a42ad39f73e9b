-- Sequence checks that numbered messages arrive in order: "next" with
-- {n = 1}, {n = 2}, … counts every n that is not the last one plus one.
-- Handy to test that moves and links lose, repeat or reorder nothing.
-- Its state is plain data on self, so an idle Sequence hibernates.
local Sequence = { hibernate = true, params = { last = 0, errors = 0 } }

function Sequence:next(body)
  if body.n ~= self.last + 1 then
    self.errors = self.errors + 1
  end
  self.last = body.n
end

function Sequence:state()
  return "state", { last = self.last, errors = self.errors }
end

return Sequence

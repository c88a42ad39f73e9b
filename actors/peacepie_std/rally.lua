-- Rally plays ping-pong with sends, no asks: "serve" {to, n} sends "ball"
-- {left = n, from = this actor} to another Rally; each one that gets a ball
-- sends it back with left - 1, until the ball with left = 1 lands. "state"
-- answers {balls, finished}: the balls this one got, and whether the last
-- one landed here.
local pp = require "peacepie"
local Rally = { params = { balls = 0, finished = false } }

function Rally:serve(body)
  self.balls, self.finished = 0, false
  pp.send(body.to, "ball", { left = body.n, from = pp.name() })
  return "served"
end

function Rally:ball(body)
  self.balls = self.balls + 1
  if body.left <= 1 then
    self.finished = true
    return
  end
  pp.send(body.from, "ball", { left = body.left - 1, from = pp.name() })
end

function Rally:state()
  return "state", { balls = self.balls, finished = self.finished }
end

return Rally

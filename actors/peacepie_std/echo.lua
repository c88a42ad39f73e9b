-- Echo answers every "echo" with "echoed" and the body it got; handy to check
-- that a process, a link or a client works.
local Echo = {}

function Echo:echo(body)
  return "echoed", body
end

return Echo

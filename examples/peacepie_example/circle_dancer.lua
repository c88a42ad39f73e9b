-- CircleDancer passes "tick" to its consumer after `period` seconds.
local pp = require "peacepie"

local CircleDancer = {
  params = { consumer = pp.null, period = pp.null },
}

function CircleDancer:tick(body)
  print(string.format('CircleDancer "%s" from "%s"', pp.name(), pp.node()))
  pp.sleep(self.period)
  local ok, err = pp.send(self.consumer, "tick", body)
  if not ok then
    pp.log.warn("the tick is not passed on:", err)
  end
end

return CircleDancer

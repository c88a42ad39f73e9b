-- CircleStarter builds a ring of CircleDancers over `process_count`
-- processes, `dancers_per_process` in each, and starts a tick running round.
local pp = require "peacepie"

local CircleStarter = {
  params = { process_count = pp.null, dancers_per_process = pp.null, period = pp.null },
}

local function check_reply(what, reply, want)
  if reply.command ~= want then
    local detail = reply.body and (reply.body.error or reply.body.message) or ""
    error(string.format("%s: got %s %s", what, reply.command, tostring(detail)), 0)
  end
end

function CircleStarter:begin()
  assert(type(self.process_count) == "number" and self.process_count >= 1, "process_count must be a number >= 1")
  assert(type(self.dancers_per_process) == "number" and self.dancers_per_process >= 1, "dancers_per_process must be a number >= 1")
  assert(type(self.period) == "number", "period must be a number of seconds")

  local nodes = { pp.node() }
  for _ = 2, self.process_count do
    local reply, err = pp.ask(pp.node(), "create_process", nil, 30)
    if not reply then error("create_process: " .. err, 0) end
    check_reply("create_process", reply, "process_is_created")
    nodes[#nodes + 1] = reply.body.node
  end

  local names, creations = {}, {}
  for i, node in ipairs(nodes) do
    local group = {}
    for j = 0, self.dancers_per_process - 1 do
      local name = string.format("dancer_%02d", (i - 1) * self.dancers_per_process + j)
      group[#group + 1] = name
      names[#names + 1] = name
    end
    creations[#creations + 1] = { node, "create_actors", {
      class_desc = { requires_dist = "peacepie_example", class = "CircleDancer" },
      names = group,
    } }
  end
  for _, reply in ipairs(pp.ask_all(creations, 10)) do
    check_reply("create_actors", reply, "actors_are_created")
  end

  local settings = {}
  for k, name in ipairs(names) do
    local consumer = names[k % #names + 1]
    settings[k] = { name, "set_params", { params = {
      { name = "consumer", value = consumer },
      { name = "period", value = self.period },
    } } }
  end
  for _, reply in ipairs(pp.ask_all(settings, 10)) do
    check_reply("set_params", reply, "params_are_set")
  end

  pp.send(names[1], "tick")
  return "begun"
end

return CircleStarter

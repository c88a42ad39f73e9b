-- The tester actor of `peacepie test`: it loads one test file of the
-- package under test (its tests register with peacepie.test), runs the
-- tests one by one and answers what happened.
local pp = require "peacepie"
local t = require "peacepie.test"
local testing = require "peacepie_testing"

local Tester = {}

function Tester:run(body)
  local ok, err = pcall(require, body.module)
  if not ok then
    return "loaded", { error = tostring(err) }
  end
  local results = {}
  for _, tc in ipairs(t._tests()) do
    t._begin()
    local passed, failure = xpcall(tc.fn, function(e)
      if type(e) ~= "string" then e = t.show(e) end
      local where = testing.where()
      if where ~= "" then e = e .. "\nstack:\n" .. where end
      return e
    end)
    t._finish()
    results[#results + 1] = { name = tc.name, passed = passed, failure = failure }
  end
  return "ran", { results = pp.array(results) }
end

return Tester

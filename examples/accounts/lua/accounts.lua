-- Accounts keeps users and their password hashes (in its params, so they
-- move and restart with it) and checks logins with the Go service
-- "passwords", which this package is granted by the program.
local passwords = require "passwords"

local Accounts = { params = { users = {} } }

function Accounts:register(body)
  if type(body) ~= "table" or type(body.user) ~= "string" or type(body.password) ~= "string" then
    return "error", { message = "register wants {\"user\": \"...\", \"password\": \"...\"}" }
  end
  if self.users[body.user] then
    return "user_exists", { user = body.user }
  end
  local hash, err = passwords.hash(body.password)
  if err then
    return "error", { message = err }
  end
  self.users[body.user] = hash
  return "registered", { user = body.user }
end

function Accounts:login(body)
  if type(body) ~= "table" or type(body.user) ~= "string" or type(body.password) ~= "string" then
    return "error", { message = "login wants {\"user\": \"...\", \"password\": \"...\"}" }
  end
  local hash = self.users[body.user]
  if hash and passwords.check(hash, body.password) then
    return "welcome", { user = body.user }
  end
  return "denied", { user = body.user }
end

return Accounts

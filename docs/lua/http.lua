---@meta http

-- LuaLS definitions of the built-in service "http", for editor completion of
--   local http = require "http"
-- A package reaches it only when the repo list grants it (services = ["http"])
-- and lists the hosts it may reach (http_hosts = [...]). The reference is
-- docs/lua-api.md ("The http service"); this file holds no code that runs.

---A response: an HTTP error status is a response too.
---@class http.Response
---@field status integer the HTTP status, such as 200 or 404
---@field body string the body, at most max_bytes
---@field headers table<string, string> the first value of each header
---@field json any the body decoded, when the call asked for json = true

---What a call may ask for.
---@class http.Options
---@field headers? table<string, string> request headers
---@field timeout? number seconds to wait for the answer (10; 60 at most)
---@field max_bytes? integer the largest body to accept (1 MiB; 16 MiB at most)
---@field json? boolean decode the body into response.json

---A request of http.request.
---@class http.Request: http.Options
---@field method? string "GET" by default
---@field url string an http or https URL of an allowed host
---@field body? string|table a string, or a table sent as JSON

---@class http
local http = {}

---GET url. err is a string when no response came (a host not allowed, a
---timeout, a body over max_bytes, not JSON with json = true).
---@param url string
---@param opts? http.Options
---@return http.Response|nil response
---@return string|nil err
function http.get(url, opts) end

---POST body (a string, or a table sent as JSON) to url.
---@param url string
---@param body string|table|nil
---@param opts? http.Options
---@return http.Response|nil response
---@return string|nil err
function http.post(url, body, opts) end

---Any method.
---@param req http.Request
---@return http.Response|nil response
---@return string|nil err
function http.request(req) end

return http

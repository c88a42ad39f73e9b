---@meta peacepie

-- LuaLS definitions of the module "peacepie", for editor completion of
--   local pp = require "peacepie"
-- Add this directory to "workspace.library" in your .luarc.json.
-- The reference is docs/lua-api.md; this file holds no code that runs.

---An actor name ("hello_world"), an admin name ("first.main.admin"), or a
---table {node = "<host>.<process>.admin", entity = "name"}.
---@alias peacepie.Address string|peacepie.NodeEntity

---An address written as a node and an entity.
---@class peacepie.NodeEntity
---@field node string the admin of the process, "<host>.<process>.admin"
---@field entity string the actor's name, or a reply address "_N"

---A reply returned by `ask` and `ask_all`.
---@class peacepie.Reply
---@field command string the reply command, such as "hello_world", "error" or "is_not_handled"
---@field body any the reply body converted to Lua; nil when it is null

---The envelope passed as the third argument of a handler that declares one:
---`function Class:command(body, msg)`.
---@class peacepie.Message
---@field command string the command being handled
---@field mid string the message id, "<host>.<process>.<counter>"
---@field sender? peacepie.NodeEntity|string where the reply goes; present only for an ask
---@field timeout? number seconds the asker waits; present only when the sender gave one
---@field body any a copy of the body (the second handler argument)

---One request of `ask_all`: `{to, command, body}`.
---@class peacepie.Request
---@field [1] peacepie.Address the recipient
---@field [2] string the command
---@field [3] any the body (optional)

---An integer that identifies a timer of this actor, for `cancel`.
---@alias peacepie.Timer integer

---The JSON null value (a userdata; `tostring` gives "null").
---@class peacepie.Null

---Log records of this actor; they go to the process log with the attributes
---actor and node. Arguments are converted with tostring and joined with spaces.
---@class peacepie.Log
local log = {}

---Writes a record at level DEBUG (shown only with log_level = "debug").
---@param ... any
function log.debug(...) end

---Writes a record at level INFO.
---@param ... any
function log.info(...) end

---Writes a record at level WARN.
---@param ... any
function log.warn(...) end

---Writes a record at level ERROR.
---@param ... any
function log.error(...) end

---@class peacepie
local peacepie = {}

---Sends a message that expects no reply. Returns nil and an error text when
---the recipient does not exist or is stopping, its mailbox is full
---("mailbox is full: ..."), or the command is empty.
---Raises on a malformed address
---or a body that cannot be converted. "exit" and "quit" go to the head admin
---whatever `to` is, if the repo list grants them to this actor's package
---(else nil and "not allowed: ..."). Admin commands beyond reading and this
---package's own actors need such a grant too (docs/packages.md).
---@param to peacepie.Address
---@param command string
---@param body? any
---@return true|nil ok
---@return string? err
function peacepie.send(to, command, body) end

---Sends a request and blocks this actor until the first reply (returned as
---{command, body}), or returns nil and an error text on a timeout, an unknown
---recipient ("actor_is_not_found: ..."), a full mailbox ("mailbox_is_full:
---..."), an empty command, or when the actor is being removed.
---Failure replies (error, is_not_handled) are returned as replies.
---@param to peacepie.Address
---@param command string
---@param body? any
---@param timeout? number seconds; nil or 0 means 10
---@return peacepie.Reply|nil reply
---@return string? err
function peacepie.ask(to, command, body, timeout) end

---Sends all requests at once and waits for every reply within one timeout.
---Returns the replies in request order and the number of requests that got
---no reply; each of those appears as {command = "error", body = {message = ...}}.
---@param requests peacepie.Request[]
---@param timeout? number seconds; nil or 0 means 10
---@return peacepie.Reply[] replies
---@return integer failures
function peacepie.ask_all(requests, timeout) end

---Blocks this actor for `seconds` (not counted against the time budget).
---Raises when the actor is removed while it sleeps.
---@param seconds? number nil or 0 returns at once
function peacepie.sleep(seconds) end

---Delivers `command` with `body` to this actor every `seconds`, the first
---time after `seconds`. Timer messages have no sender.
---@param seconds number at least 0.001
---@param command string
---@param body? any
---@return peacepie.Timer timer
function peacepie.every(seconds, command, body) end

---Delivers `command` with `body` to this actor once, after `seconds`.
---@param seconds number at least 0.001
---@param command string
---@param body? any
---@return peacepie.Timer timer
function peacepie.after(seconds, command, body) end

---Stops a timer; true if it was still active, false otherwise (also for nil).
---@param timer peacepie.Timer|nil
---@return boolean active
function peacepie.cancel(timer) end

---Returns this actor's name.
---@return string
function peacepie.name() end

---Returns the admin name of this actor's process, "<host>.<process>.admin".
---@return string
function peacepie.node() end

---Returns the seconds since this OS process started (monotonic, nanosecond
---resolution): for timing, not the time of day; peacepie test's fake clock
---does not move it.
---@return number
function peacepie.clock() end

---Marks `t` (a new empty table when omitted) as a JSON array, so that an
---empty one is sent as [] instead of {}. Replaces t's metatable.
---@generic T: table
---@param t? T
---@return T
function peacepie.array(t) end

---JSON null: use it inside tables, and as a param default that means nil.
---@type peacepie.Null
peacepie.null = nil

---Logging through the process log.
---@type peacepie.Log
peacepie.log = log

return peacepie

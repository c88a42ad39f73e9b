---@meta peacepie.test

-- LuaLS definitions of the module "peacepie.test", for the test files
-- (*_test.lua) of `peacepie test`:
--   local t = require "peacepie.test"
-- The reference is docs/lua-api.md ("Testing a package"); this file holds
-- no code that runs.

---A reply of t.ask.
---@class peacepie.test.Reply
---@field command string
---@field body any

---@class peacepie.test
local t = {}

---Declares a test. A file's tests run in order; the actors a test made are removed after it.
---@param name string
---@param fn fun()
function t.test(name, fn) end

---Creates an actor of the package under test ("Class") or of another package ("pkg:Class").
---@param class string
---@param params? table
---@return string name
function t.create(class, params) end

---Asks; the test fails when no reply comes in time.
---@param to string
---@param command string
---@param body? any
---@param timeout? number seconds (10)
---@return peacepie.test.Reply
function t.ask(to, command, body, timeout) end

---Sends.
---@param to string
---@param command string
---@param body? any
function t.send(to, command, body) end

---The actor's params, name → value.
---@param to string
---@return table<string, any>
function t.params(to) end

---The lines actors printed since the last call.
---@return string[]
function t.printed() end

---Moves the fake clock on by seconds: each due timer fires in turn, the actors handling what it brought.
---@param seconds number
function t.advance(seconds) end

---Waits until every actor has handled what it was sent.
function t.settle() end

---Equal values (tables compared deeply).
---@param actual any
---@param expected any
---@param what? string
function t.eq(actual, expected, what) end

---A value that is neither nil nor false.
---@param value any
---@param what? string
function t.ok(value, what) end

---Fails the test here.
---@param what string
function t.fail(what) end

---A table as text, keys sorted (for messages).
---@param v any
---@return string
function t.show(v) end

return t

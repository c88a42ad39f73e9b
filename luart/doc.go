// Package luart runs actors written in Lua. Each actor gets its own Lua
// state (gopher-lua) with only safe libraries, its package's modules and
// the module "peacepie"; a package's code is compiled once and shared by all
// the actors that use it.
//
// An actor class is a Lua table of handlers, one per command:
//
//	local pp = require "peacepie"
//	local Counter = { params = { count = 0 } }
//
//	function Counter:add(body)           -- command "add"
//	  self.count = self.count + body.n
//	  return "added", { count = self.count } -- the reply: command, body
//	end
//
//	return Counter
//
// Runtime implements host.Resolver: give it to a host.Process and
// create_actor can make actors of any class of the packages it finds.
// docs/lua-api.md is the reference for actor authors.
package luart

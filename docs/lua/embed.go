// Package luadefs holds the LuaLS definition files of the Lua API
// (peacepie.lua, http.lua), for `peacepie new` to write into a package.
package luadefs

import "embed"

// Files are the definition files, at the root.
//
//go:embed *.lua
var Files embed.FS

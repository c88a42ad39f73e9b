// Package actors holds the Lua packages built into the binary besides the
// examples: peacepie_std, small actors that are useful in any system.
package actors

import (
	"embed"
	"io/fs"
)

//go:embed peacepie_std
var files embed.FS

// Std returns the files of the package peacepie_std.
func Std() fs.FS {
	sub, err := fs.Sub(files, "peacepie_std")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

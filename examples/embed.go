// Package examples holds the example package peacepie_example, built into
// the binary so that the first run works without a network.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed peacepie_example
var files embed.FS

// PeacepieExample returns the files of the package peacepie_example.
func PeacepieExample() fs.FS {
	sub, err := fs.Sub(files, "peacepie_example")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Admin is what peacepie_example is granted when the repo list has no
// entry of that name: every admin command ("all"), since its CircleStarter
// creates processes and actors. An entry of that name replaces the
// package, and its own admin grants then apply.
var Admin = []string{"all"}

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

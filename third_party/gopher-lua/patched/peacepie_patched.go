package lua

import _ "embed" // for the stamp below

// This directory is github.com/yuin/gopher-lua with peacepie's patches
// applied (../README.md). Only go.mod and the files named peacepie_* are
// peacepie's and kept in Git; `go run ./internal/patchmod
// third_party/gopher-lua`, which make runs, writes the rest from the
// verified upstream module and ../patches, and then, last, the stamp below.
// Until the stamp exists every build stops at this line with the error
// "pattern to patch this module, run make: no matching files found".
//
//go:embed "to patch this module, run make"
var peacepiePatchStamp string

// PeacepiePatches says what this build is: the upstream module and how
// many of peacepie's patches it carries ("github.com/yuin/gopher-lua
// v1.1.2 + 7 patches"), for `peacepie version`.
func PeacepiePatches() string { return peacepiePatchStamp }

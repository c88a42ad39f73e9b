// peacepie's go.mod for gopher-lua with our patches (see ../README.md). The
// rest of this directory is made by `make` from the verified upstream module.
module github.com/yuin/gopher-lua

go 1.23

// Package repo knows actor packages: the manifest peacepie.toml at a
// package's root, requirements such as "peacepie_example==0.2.0", and the
// sources packages are found in. Packages built into the binary come from
// an fs.FS (see Embedded); Git repositories pinned at tags come later.
//
// repo depends on nothing else in peacepie.
package repo

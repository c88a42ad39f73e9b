// Package repo knows actor packages: the manifest peacepie.toml at a
// package's root, requirements such as "peacepie_example==0.2.0", and the
// sources packages are found in. Packages built into the binary come from
// an fs.FS (see Embedded); packages from Git repositories, at the tags a
// repo list pins and the commits a lock file records, come through Store,
// which follows the system's package set (Set) in every process but the
// root.
//
// repo depends on nothing else in peacepie.
package repo

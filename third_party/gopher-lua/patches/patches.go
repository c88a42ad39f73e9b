// Package patches holds peacepie's patches to gopher-lua (applied by
// internal/patchmod at build time), embedded so that `peacepie version`
// can list them.
package patches

import "embed"

// Files are the patch files, at the root.
//
//go:embed *.patch
var Files embed.FS

package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRepositoryImportsOnlyTheRootPackage: peacepie's code imports no
// package of gopher-lua's but the root one. The root package alone holds
// the build hint, so a build before `make` prints the one line "pattern to
// patch this module, run make"; an import of a subpackage (parse, ast) adds
// a misleading "no required module provides package" line before it.
func TestRepositoryImportsOnlyTheRootPackage(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "third_party" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/yuin/gopher-lua/") {
				t.Errorf("%s imports %s: use the root package only (see third_party/gopher-lua/README.md)", fset.Position(imp.Pos()), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package luart

import (
	"context"
	"errors"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/repo"
)

// catalogSource is a package source that can list what it resolves
// (*repo.Store).
type catalogSource interface {
	Catalog() []repo.CatalogEntry
	Classes(ctx context.Context, name, version string) (string, []string, error)
}

// Packages implements host.PackageCatalog: the packages of the runtime's
// source, [{"name", "versions", "source"}].
func (rt *Runtime) Packages() (host.Array, error) {
	src, ok := rt.source.(catalogSource)
	if !ok {
		return nil, errors.New("this process's package source cannot list its packages")
	}
	out := host.Array{}
	for _, e := range src.Catalog() {
		versions := host.Array{}
		for _, v := range e.Versions {
			versions = append(versions, v)
		}
		out = append(out, host.Object{{Key: "name", Value: e.Name}, {Key: "versions", Value: versions}, {Key: "source", Value: e.Source}})
	}
	return out, nil
}

// Classes implements host.PackageCatalog: the classes of a package
// version, {"package", "version", "classes"}.
func (rt *Runtime) Classes(ctx context.Context, name, version string) (host.Object, error) {
	src, ok := rt.source.(catalogSource)
	if !ok {
		return nil, errors.New("this process's package source cannot list its packages")
	}
	v, classes, err := src.Classes(ctx, name, version)
	if err != nil {
		return nil, err
	}
	list := host.Array{}
	for _, c := range classes {
		list = append(list, c)
	}
	return host.Object{{Key: "package", Value: name}, {Key: "version", Value: v}, {Key: "classes", Value: list}}, nil
}

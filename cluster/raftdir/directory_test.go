package raftdir

import (
	"errors"
	"fmt"
	"testing"

	"github.com/peacepie/peacepie/host"
)

func TestDirectoryApply(t *testing.T) {
	d := newDirectory()
	must := func(c Command) Result {
		t.Helper()
		r, err := d.apply(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		return r
	}
	must(Command{Op: OpReserve, Name: "x", Node: "a.main.admin"})
	must(Command{Op: OpReserve, Name: "x", Node: "a.main.admin"}) // again by its holder: no change
	if _, err := d.apply(Command{Op: OpReserve, Name: "x", Node: "b.main.admin"}); !errors.Is(err, host.ErrNameTaken) {
		t.Fatalf("reserve of a held name: %v", err)
	}
	must(Command{Op: OpRelease, Name: "x", Node: "b.main.admin"}) // not its holder: no change
	if d.Names["x"] != "a.main.admin" {
		t.Fatal("a release by another node took the name")
	}
	must(Command{Op: OpPlace, Name: "x", Node: "b.process_0.admin"})
	if _, err := d.apply(Command{Op: OpPlace, Name: "nobody", Node: "b.main.admin"}); !errors.Is(err, host.ErrNoActor) {
		t.Fatalf("place of an unknown name: %v", err)
	}
	must(Command{Op: OpReserve, Name: "y", Node: "b.main.admin", Class: []byte(`{"class":"Echo"}`), Params: []byte(`{"n":1}`)})
	must(Command{Op: OpReserve, Name: "z", Node: "c.main.admin"})
	dropped := must(Command{Op: OpDropHost, Host: "b"})
	if got := fmt.Sprint(dropped.Names); got != "[x y]" {
		t.Fatalf("drop_host b dropped %s", got)
	}
	if e := dropped.Entries["y"]; e.Node != "b.main.admin" || string(e.Class) != `{"class":"Echo"}` || string(e.Params) != `{"n":1}` {
		t.Fatalf("drop_host b: y's entry %+v", e)
	}
	if len(d.Makes) != 0 {
		t.Fatalf("entries left of dropped names: %v", d.Makes)
	}
	if fmt.Sprint(d.Names) != "map[z:c.main.admin]" {
		t.Fatalf("left: %v", d.Names)
	}
	for _, c := range []Command{{Op: "frobnicate"}, {Op: OpReserve}, {Op: OpDropHost}} {
		if _, err := d.apply(c); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
	data, err := d.marshal()
	if err != nil {
		t.Fatal(err)
	}
	e := newDirectory()
	if err := e.restore(data); err != nil || fmt.Sprint(e.Names) != "map[z:c.main.admin]" {
		t.Fatalf("restore: %v %v", err, e.Names)
	}
	if err := e.restore([]byte("{not json")); err == nil {
		t.Fatal("a corrupt snapshot restored")
	}
}

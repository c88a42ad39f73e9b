package host_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/peacepie/peacepie/host"
)

// TestActorListingPages: get_actors answers a page of the actors sorted by
// name, with the number that match, filtered by name or class; the
// default page is bounded; bad pages are refused.
func TestActorListingPages(t *testing.T) {
	p := newProcess(t, host.Config{})
	var names host.Array
	for i := range 30 {
		names = append(names, fmt.Sprintf("a%02d", 29-i)) // made in reverse order
	}
	r := ask(t, p, p.AdminName(), "create_actors", host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "gotest"}, {Key: "class", Value: "Echo"}}},
		{Key: "names", Value: names},
	})
	if r.Command != "actors_are_created" {
		t.Fatalf("create_actors: %s %s", r.Command, js(r.Body))
	}
	page := func(body host.Object) (string, int64) {
		t.Helper()
		r := ask(t, p, p.AdminName(), "get_actors", body)
		if r.Command != "actors" {
			t.Fatalf("get_actors %s: %s %s", js(body), r.Command, js(r.Body))
		}
		var got []string
		for _, a := range field(t, r.Body, "actors").(host.Array) {
			got = append(got, a.(host.Object).String("name"))
		}
		return strings.Join(got, ","), field(t, r.Body, "total").(int64)
	}
	if got, total := page(nil); total != 30 || !strings.HasPrefix(got, "a00,a01,a02") || strings.Count(got, ",") != 29 {
		t.Errorf("get_actors: %d of %d: %s", strings.Count(got, ",")+1, total, got)
	}
	if got, total := page(host.Object{{Key: "offset", Value: int64(10)}, {Key: "limit", Value: int64(3)}}); got != "a10,a11,a12" || total != 30 {
		t.Errorf("offset 10, limit 3: %s of %d", got, total)
	}
	if got, total := page(host.Object{{Key: "offset", Value: int64(28)}, {Key: "limit", Value: int64(5)}}); got != "a28,a29" || total != 30 {
		t.Errorf("the last page: %s of %d", got, total)
	}
	if got, total := page(host.Object{{Key: "filter", Value: "A2"}, {Key: "limit", Value: int64(2)}}); got != "a20,a21" || total != 10 {
		t.Errorf("filter A2: %s of %d", got, total)
	}
	if got, total := page(host.Object{{Key: "filter", Value: "echo"}, {Key: "offset", Value: int64(29)}}); got != "a29" || total != 30 {
		t.Errorf("filter by class: %s of %d", got, total)
	}
	if got, total := page(host.Object{{Key: "limit", Value: int64(0)}, {Key: "offset", Value: int64(27)}}); got != "a27,a28,a29" || total != 30 {
		t.Errorf("limit 0 (all) from 27: %s of %d", got, total)
	}
	for _, bad := range []host.Object{
		{{Key: "limit", Value: int64(-1)}},
		{{Key: "offset", Value: 1.5}},
		{{Key: "offset", Value: "x"}},
		{{Key: "filter", Value: int64(3)}},
		{{Key: "offset", Value: int64(1) << 62}, {Key: "limit", Value: int64(1) << 62}}, // their sum overflowed: a panic that ended the process
	} {
		if r := ask(t, p, p.AdminName(), "get_actors", bad); r.Command != "error" {
			t.Errorf("get_actors %s: %s %s, want an error", js(bad), r.Command, js(r.Body))
		}
	}
	// The default page is bounded.
	var more host.Array
	for i := range host.DefaultListLimit {
		more = append(more, fmt.Sprintf("b%05d", i))
	}
	r = ask(t, p, p.AdminName(), "create_actors", host.Object{
		{Key: "class_desc", Value: host.Object{{Key: "requires_dist", Value: "gotest"}, {Key: "class", Value: "Echo"}}},
		{Key: "names", Value: more},
	})
	if r.Command != "actors_are_created" {
		t.Fatalf("create_actors: %s", r.Command)
	}
	if got, total := page(nil); strings.Count(got, ",")+1 != host.DefaultListLimit || total != int64(30+host.DefaultListLimit) {
		t.Errorf("get_actors of %d actors lists %d (total %d), want the first %d", 30+host.DefaultListLimit, strings.Count(got, ",")+1, total, host.DefaultListLimit)
	}
}

// TestAdminNumbersAreNumbers: a count or a duration given as something
// other than a number is refused by name, not read as -1 (get_lines'
// "n" used to fall back to 1000 lines, profile_lua's "seconds" to
// "not -1").
func TestAdminNumbersAreNumbers(t *testing.T) {
	p := newProcess(t, host.Config{})
	for _, c := range []struct {
		verb string
		body host.Object
		want string
	}{
		{"get_lines", host.Object{{Key: "n", Value: "10"}}, `"n" must be a number, not a string`},
		{"get_go_profile", host.Object{{Key: "profile", Value: "heap"}, {Key: "seconds", Value: true}}, `"seconds" must be a number, not a boolean`},
		{"profile_lua", host.Object{{Key: "package", Value: "x"}, {Key: "interval_ms", Value: host.Object{}}}, `"interval_ms" must be a number, not an object`},
	} {
		r := ask(t, p, p.AdminName(), c.verb, c.body)
		if o, _ := r.Body.(host.Object); r.Command != "error" || !strings.Contains(o.String("message"), c.want) {
			t.Errorf("%s %s: %s %s, want an error with %s", c.verb, js(c.body), r.Command, js(r.Body), c.want)
		}
	}
	if r := ask(t, p, p.AdminName(), "get_lines", host.Object{{Key: "n", Value: int64(5)}}); r.Command != "lines" {
		t.Errorf("get_lines with n 5: %s %s", r.Command, js(r.Body))
	}
}

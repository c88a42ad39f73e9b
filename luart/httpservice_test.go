package luart_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
	"github.com/peacepie/peacepie/luart"
)

var webPackage = fstest.MapFS{
	"peacepie.toml": file("name = \"webpkg\"\nversion = \"1.0.0\"\n[actors]\nFetcher = \"fetcher\"\n"),
	"fetcher.lua": file(`
local http = require "http"
local Fetcher = {}
local function answer(r, err)
  if err then return "failed", {err = err} end
  return "fetched", {status = r.status, body = r.body, json = r.json, ct = r.headers["Content-Type"]}
end
function Fetcher:get(body) return answer(http.get(body.url, body.opts)) end
function Fetcher:post(body) return answer(http.post(body.url, body.data)) end
function Fetcher:put(body)
  return answer(http.request({method = "put", url = body.url, body = "text", headers = {["X-A"] = "1"}}))
end
return Fetcher
`),
}

// webServer answers the tests' requests; slow waits for its request's
// end and reports it on ended.
func webServer(t *testing.T) (srv *httptest.Server, slowStarted, slowEnded chan struct{}) {
	slowStarted, slowEnded = make(chan struct{}, 1), make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"a": 1, "list": [1, 2]}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-A"), data)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		slowStarted <- struct{}{}
		select {
		case <-r.Context().Done():
			slowEnded <- struct{}{}
		case <-time.After(30 * time.Second):
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 2<<20))
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/x", http.StatusFound)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, slowStarted, slowEnded
}

func startWeb(t *testing.T, allowed []string) *luaHost {
	t.Helper()
	svcs, err := luart.NewServices(map[string]any{"http": &luart.HTTP{Hosts: func(pkg string) []string {
		if pkg == "webpkg" {
			return allowed
		}
		return nil
	}}}, func(pkg string) []string { return map[string][]string{"webpkg": {"http"}}[pkg] })
	if err != nil {
		t.Fatal(err)
	}
	h := &luaHost{t: t, p: processWithServices(t, host.Config{Budget: 200 * time.Millisecond}, svcs, webPackage), log: &testhost.Output{}}
	h.mustCreateFrom("webpkg", "f", "Fetcher")
	return h
}

// TestHTTPService: the built-in service makes requests to the hosts the
// package is allowed, with JSON both ways, and refuses with a clear error
// a host outside the list (a redirect to one too), a response over the
// size limit and an answer that does not come in time.
func TestHTTPService(t *testing.T) {
	srv, _, _ := webServer(t)
	u, _ := url.Parse(srv.URL)
	h := startWeb(t, []string{u.Host})
	h.expect("f", "get", fmt.Sprintf(`{"url": %q, "opts": {"json": true}}`, srv.URL+"/json"), "fetched",
		`{"body":"{\"a\": 1, \"list\": [1, 2]}","ct":"application/json","json":{"a":1,"list":[1,2]},"status":200}`)
	h.expect("f", "post", fmt.Sprintf(`{"url": %q, "data": {"x": 1}}`, srv.URL+"/echo"), "fetched", "*")
	if r := h.ask("f", "post", fmt.Sprintf(`{"url": %q, "data": {"x": 1}}`, srv.URL+"/echo")); !strings.Contains(jsonOf(r.Body), `POST application/json  {\"x\":1}`) {
		t.Errorf("a table posted: %s", jsonOf(r.Body))
	}
	if r := h.ask("f", "put", fmt.Sprintf(`{"url": %q}`, srv.URL+"/echo")); !strings.Contains(jsonOf(r.Body), `PUT  1 text`) {
		t.Errorf("a request with a method, a header and a string body: %s", jsonOf(r.Body))
	}
	// The handler's budget is 200 ms; a call of 300 ms is not counted.
	failsWith := func(what, body string, parts ...string) {
		t.Helper()
		r := h.ask("f", "get", body)
		text := fmt.Sprint(r.Command, " ", jsonOf(r.Body))
		for _, p := range parts {
			if r.Command != "failed" || !strings.Contains(text, p) {
				t.Errorf("%s: %s, want failed with %q", what, text, p)
				return
			}
		}
	}
	failsWith("a host outside the list", fmt.Sprintf(`{"url": "http://localhost:%s/json"}`, u.Port()),
		"host is not allowed: package webpkg may not reach localhost:"+u.Port(), `http_hosts = [\"localhost\"]`)
	failsWith("a redirect outside the list", fmt.Sprintf(`{"url": %q}`, srv.URL+"/away"), "host is not allowed: a redirect to elsewhere.invalid")
	failsWith("a response over the limit", fmt.Sprintf(`{"url": %q}`, srv.URL+"/big"), "the response is larger than 1048576 bytes")
	h.expect("f", "get", fmt.Sprintf(`{"url": %q, "opts": {"max_bytes": 4194304}}`, srv.URL+"/big"), "fetched", "*")
	failsWith("no answer in time", fmt.Sprintf(`{"url": %q, "opts": {"timeout": 0.3}}`, srv.URL+"/slow"), "no answer within 300ms")
	failsWith("not a URL", `{"url": "file:///etc/passwd"}`, "is not an http or https URL")
}

// TestHTTPNeedsTheGrant: a package the repo list does not grant http
// cannot require it, even with hosts listed for it.
func TestHTTPNeedsTheGrant(t *testing.T) {
	svcs, err := luart.NewServices(map[string]any{"http": &luart.HTTP{Hosts: func(string) []string { return []string{"127.0.0.1"} }}},
		func(string) []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	h := &luaHost{t: t, p: processWithServices(t, host.Config{}, svcs, webPackage), log: &testhost.Output{}}
	r := h.createFrom("webpkg", "f", "Fetcher", "")
	if r.Command != "actor_is_not_created" || !strings.Contains(errorText(r), `package webpkg may not require the service "http"`) {
		t.Fatalf("create without the grant: %s %s", r.Command, jsonOf(r.Body))
	}
}

// TestHTTPCallEndsWhenTheActorIsRemoved: a request waiting for its answer
// is cancelled when its actor is removed.
func TestHTTPCallEndsWhenTheActorIsRemoved(t *testing.T) {
	srv, started, ended := webServer(t)
	u, _ := url.Parse(srv.URL)
	h := startWeb(t, []string{u.Host})
	if err := h.p.Send(host.Message{Command: "get", Recipient: host.Address{Entity: "f"},
		Body: h.body(fmt.Sprintf(`{"url": %q, "opts": {"timeout": 30}}`, srv.URL+"/slow"))}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the server")
	}
	if r := h.remove("f"); r.Command != "actor_is_removed" {
		t.Fatalf("remove: %s %s", r.Command, jsonOf(r.Body))
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the request was not cancelled with its actor")
	}
}

package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/peacepie/peacepie/internal/proof"
)

// TestAnswerBeforeClose: an answer that arrives just before the system
// closes the connection (the reply to exit) is returned, not the close.
// (The race it guards against is narrow: Request chose at random between
// the answer and the end of the connection when both were ready.)
func TestAnswerBeforeClose(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/hello" {
			w.Write([]byte(`{"proof": "` + proof.Hello("token", r.URL.Query().Get("nonce")) + `"}`))
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		id := strings.SplitN(strings.SplitN(string(data), `"id":`, 2)[1], ",", 2)[0]
		ws.WriteMessage(websocket.TextMessage, []byte(`{"id":`+id+`,"command":"sent","body":{"mid":"first.main.1"}}`))
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "the system is shutting down"), time.Now().Add(time.Second))
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	for i := range 200 {
		c, err := Dial(context.Background(), url, "token")
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Request(context.Background(), "send", "first.main.admin", "exit", nil, time.Second)
		c.Close()
		if err != nil || m.Command != "sent" {
			t.Fatalf("round %d: %q %v, want the answer sent before the close", i, m.Command, err)
		}
	}
}

// TestTokenGoesOnlyToThisSystem: a program listening where a client looks
// for the console (another server, a stale address) never receives the
// token: Dial asks for the proof first, and only the system can make it.
func TestTokenGoesOnlyToThisSystem(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"a stranger": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) },
		"a 401":      func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) },
		"a replayed proof": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"proof": "` + proof.Hello(token, "an earlier nonce of sixteen+") + `"}`))
		},
		"a proof of another token": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"proof": "` + proof.Hello("another token", r.URL.Query().Get("nonce")) + `"}`))
		},
		"a redirect to the system": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			got := make(chan string, 16)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.URL.String() + " " + r.Header.Get("Authorization") + " " + r.Header.Get("Cookie")
				answer(w, r)
			}))
			defer srv.Close()
			_, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", token)
			if !errors.Is(err, ErrNotThisSystem) {
				t.Fatalf("Dial: %v, want ErrNotThisSystem", err)
			}
			srv.Close()
			close(got)
			n := 0
			for req := range got {
				n++
				if strings.Contains(req, token) {
					t.Errorf("the stranger received the token: %s", req)
				}
			}
			if n != 1 {
				t.Errorf("%d requests, want the hello only", n)
			}
		})
	}
	if _, err := Dial(context.Background(), "ws://"+closedAddr(t)+"/ws", token); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Dial to a closed port: %v, want ErrNoAnswer", err)
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestIsFailure: the answers that mean a request failed, so that
// `peacepie ask` exits with an error for them.
func TestIsFailure(t *testing.T) {
	for _, c := range []string{"error", "timeout", "actor_is_absent", "mailbox_is_full", "is_not_handled", "actor_is_not_found", "actors_are_not_created"} {
		if !IsFailure(c) {
			t.Errorf("IsFailure(%q) = false", c)
		}
	}
	for _, c := range []string{"actor_is_created", "echoed", "is_handled", "processes"} {
		if IsFailure(c) {
			t.Errorf("IsFailure(%q) = true", c)
		}
	}
}

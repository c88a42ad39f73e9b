package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestAnswerBeforeClose: an answer that arrives just before the system
// closes the connection (the reply to exit) is returned, not the close.
// (The race it guards against is narrow: Request chose at random between
// the answer and the end of the connection when both were ready.)
func TestAnswerBeforeClose(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

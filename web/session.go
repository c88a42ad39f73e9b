package web

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/peacepie/peacepie/host"
)

// session serves one WebSocket connection: it reads requests and answers
// each one, asks concurrently, in the order their replies arrive.
type session struct {
	srv   *Server
	conn  *websocket.Conn
	wmu   sync.Mutex // serialises writes
	slots chan struct{}
	wg    sync.WaitGroup // every goroutine of the session
	// inflight counts asks and sends being answered: Close lets them finish.
	inflight sync.WaitGroup

	watches map[string]*host.Watch // by request id; only the read loop touches it
}

// request is {"type": "ask"|"send", "command", "body", "timeout", "recipient", "id"}.
type request struct {
	id        any
	hasID     bool
	kind      string
	recipient host.Address
	timeout   time.Duration
	msg       host.Message
}

func (s *session) run() {
	defer s.wg.Wait()
	defer func() {
		for _, w := range s.watches {
			w.Close()
		}
	}()
	s.conn.SetReadLimit(s.srv.cfg.MaxRequestBytes)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		kind, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.srv.cfg.Logger.Warn("console request too large; connection closed", "limit", s.srv.cfg.MaxRequestBytes)
			}
			return
		}
		if kind != websocket.TextMessage {
			s.answerError(nil, false, "requests are JSON text messages")
			continue
		}
		if handled := s.watchRequest(data); handled {
			continue
		}
		req, err := s.parse(data)
		if err != nil {
			s.answerError(req.id, req.hasID, err.Error())
			continue
		}
		if req.kind == "send" {
			s.inflight.Add(1) // so that Close lets the answer out first (a send of exit)
			s.send(req)
			s.inflight.Done()
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.answerError(req.id, req.hasID, fmt.Sprintf("too many asks in flight on this connection (limit %d)", cap(s.slots)))
			continue
		}
		s.wg.Add(1)
		s.inflight.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.inflight.Done()
			defer func() { <-s.slots }()
			s.ask(ctx, req)
		}()
	}
}

func (s *session) parse(data []byte) (request, error) {
	var req request
	v, err := host.UnmarshalValue(data)
	if err != nil {
		return req, fmt.Errorf("malformed request: %v", err)
	}
	o, ok := v.(host.Object)
	if !ok {
		return req, fmt.Errorf(`a request must be a JSON object {"type": "ask"|"send", "command", "recipient", "body", "timeout"}, not %s`, host.TypeName(v))
	}
	req.id, req.hasID = o.Get("id")
	t, _ := o.Get("type")
	req.kind, _ = t.(string)
	if req.kind != "ask" && req.kind != "send" {
		return req, fmt.Errorf(`"type" must be "ask" or "send", not %s`, describe(t))
	}
	c, _ := o.Get("command")
	cmd, _ := c.(string)
	if cmd == "" {
		return req, fmt.Errorf(`"command" must be a non-empty string, not %s`, describe(c))
	}
	rv, _ := o.Get("recipient")
	if rs, isStr := rv.(string); isStr && rs == "" {
		// The Python original's console sends "" for its own process's
		// admin: here that is the system's head admin.
		rv = s.srv.cfg.Gateway.HeadAdmin()
	}
	if req.recipient, err = host.AddressFromValue(rv); err != nil {
		return req, fmt.Errorf(`"recipient": %v`, err)
	}
	req.timeout = s.srv.cfg.DefaultTimeout
	if tv, ok := o.Get("timeout"); ok && tv != nil {
		if ts, isStr := tv.(string); isStr { // the original's form sends "10"
			if f, err := strconv.ParseFloat(strings.TrimSpace(ts), 64); err == nil {
				tv = f
			}
		}
		f, ok := host.ToFloat(tv)
		if !ok || f <= 0 || f > s.srv.cfg.MaxTimeout.Seconds() {
			return req, fmt.Errorf(`"timeout" must be a number of seconds above 0 and at most %g, not %s`, s.srv.cfg.MaxTimeout.Seconds(), describe(tv))
		}
		req.timeout = time.Duration(f * float64(time.Second))
	}
	body, _ := o.Get("body")
	req.msg = host.Message{Command: cmd, Body: body, Recipient: req.recipient}
	return req, nil
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	if f, ok := host.ToFloat(v); ok {
		return fmt.Sprint(f)
	}
	if v == nil {
		return "missing"
	}
	return host.TypeName(v)
}

func (s *session) send(req request) {
	req.msg.ID = s.srv.cfg.Gateway.NewMID()
	if err := s.srv.cfg.Gateway.Send(req.msg); err != nil {
		if errors.Is(err, host.ErrNoActor) || errors.Is(err, host.ErrNoProcess) {
			s.answer(req.id, req.hasID, host.Message{Command: "actor_is_not_found", Body: host.Object{
				{Key: "entity", Value: req.recipient.String()}, {Key: "message", Value: err.Error()}}})
			return
		}
		s.answerError(req.id, req.hasID, err.Error())
		return
	}
	s.answer(req.id, req.hasID, host.Message{Command: "sent", Body: host.Object{{Key: "mid", Value: req.msg.ID.String()}}})
}

func (s *session) ask(ctx context.Context, req request) {
	reply, err := s.srv.cfg.Gateway.Ask(ctx, req.msg, req.timeout)
	switch {
	case err == nil || reply.Command != "":
		s.answer(req.id, req.hasID, reply)
	case errors.Is(err, host.ErrTimeout):
		s.answer(req.id, req.hasID, host.Message{Command: "timeout", Body: host.Object{{Key: "message", Value: err.Error()}}})
	default:
		s.answerError(req.id, req.hasID, err.Error())
	}
}

func (s *session) answerError(id any, hasID bool, text string) {
	s.answer(id, hasID, host.Message{Command: "error", Body: host.Object{{Key: "message", Value: text}}})
}

// answer writes m as JSON, with "id" first when the request had one.
func (s *session) answer(id any, hasID bool, m host.Message) {
	m.Hops = 0 // how it travelled between processes is not the client's business
	buf := make([]byte, 0, 256)
	if hasID {
		buf = append(buf, `{"id":`...)
		var err error
		if buf, err = host.AppendValue(buf, id); err != nil {
			buf = append(buf[:0], `{"id":null`...)
		}
		buf = append(buf, ',')
	}
	msg, err := m.AppendJSON(nil)
	if err != nil {
		msg, _ = host.Message{Command: "error", Body: host.Object{{Key: "message", Value: err.Error()}}}.AppendJSON(nil)
	}
	if hasID {
		buf = append(buf, msg[1:]...)
	} else {
		buf = msg
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = s.conn.WriteMessage(websocket.TextMessage, buf)
}

// watchRequest handles {"type": "watch", "id", "filter"?} and
// {"type": "unwatch", "id"}; it reports false for other requests. A watch
// streams {"id", "command": "event", "body": {kind, node, actor, ...}} for
// the events of the process (all, or those of the actor or node named by
// filter) until unwatch or the end of the connection.
func (s *session) watchRequest(data []byte) bool {
	v, err := host.UnmarshalValue(data)
	if err != nil {
		return false
	}
	o, _ := v.(host.Object)
	kind := o.String("type")
	if kind == "hello" {
		// {"type": "hello"} → {"command": "hello", "body": {"node": head admin}}
		id, hasID := o.Get("id")
		s.answer(id, hasID, host.Message{Command: "hello", Body: host.Object{{Key: "node", Value: s.srv.cfg.Gateway.HeadAdmin()}}})
		return true
	}
	if kind != "watch" && kind != "unwatch" {
		return false
	}
	id, hasID := o.Get("id")
	key, err := host.MarshalValue(id)
	if !hasID || err != nil {
		s.answerError(id, hasID, `a watch needs an "id", which its events carry`)
		return true
	}
	if s.watches == nil {
		s.watches = make(map[string]*host.Watch)
	}
	if kind == "unwatch" {
		if w := s.watches[string(key)]; w != nil {
			w.Close()
			delete(s.watches, string(key))
		}
		s.answer(id, true, host.Message{Command: "unwatched"})
		return true
	}
	filter := o.String("filter")
	stats, _ := o.Get("stats")
	if s.watches[string(key)] != nil {
		s.answerError(id, true, "a watch with this id is already running")
		return true
	}
	w := s.srv.cfg.Gateway.Watch()
	s.watches[string(key)] = w
	s.answer(id, true, host.Message{Command: "watching", Body: host.Object{{Key: "filter", Value: filter}}})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var tick <-chan time.Time
		if stats == true {
			// {"stats": true}: a "stats" event every second, for live charts.
			t := time.NewTicker(time.Second)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case e, ok := <-w.C:
				if !ok {
					return
				}
				if filter != "" && e.Actor != filter && e.Node != filter {
					continue
				}
				s.answer(id, true, host.Message{Command: "event", Body: e.Value()})
			case <-tick:
				s.answer(id, true, host.Message{Command: "event", Body: s.srv.cfg.Gateway.Stats(filter)})
			}
		}
	}()
	return true
}

// Package repl is `peacepie attach`: an interactive shell into a running
// system over the console WebSocket, with line editing, history and tab
// completion (github.com/peterh/liner).
package repl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/peterh/liner"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/client"
	"github.com/peacepie/peacepie/internal/termtext"
)

// Options configure a REPL session.
type Options struct {
	WSURL, Token string
	Out          io.Writer // replies and listings
	Err          io.Writer // errors and notices
	HistoryFile  string    // "" for none
	Timeout      time.Duration
}

// Run connects and serves the REPL until the user detaches (exit, Ctrl-D)
// or the connection is lost for good. It never stops the system.
func Run(ctx context.Context, opt Options) error {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	r := &repl{opt: opt, out: opt.Out, tty: isTerminal(opt.Out), commands: map[string][]string{}}
	if err := r.connect(ctx); err != nil {
		return err
	}
	defer func() { r.conn.Close() }() // the last connection: a reconnect replaces it
	in := r.lineReader()
	defer in.Close()
	fmt.Fprintf(opt.Err, "attached to %s (head %s); type help, or exit to detach\n", termtext.Line(opt.WSURL), termtext.Line(r.head))
	for {
		text, err := in.Prompt(r.prompt())
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			continue // Ctrl-C clears the line
		case errors.Is(err, io.EOF):
			fmt.Fprintln(opt.Err, "detached; the system keeps running")
			return nil
		case err != nil:
			return err
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		in.AppendHistory(text)
		if done := r.exec(ctx, text); done {
			fmt.Fprintln(opt.Err, "detached; the system keeps running")
			return nil
		}
		if r.lost != nil {
			return r.lost
		}
	}
}

type repl struct {
	opt     Options
	out     io.Writer
	tty     bool
	conn    *client.Conn
	head    string // the head admin
	current string // the actor `use` chose
	lost    error  // the connection is gone and could not be made again

	mu       sync.Mutex // guards the completion caches
	names    []string
	namesAt  time.Time
	commands map[string][]string
}

func (r *repl) connect(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := client.Dial(cctx, r.opt.WSURL, r.opt.Token)
	if err != nil {
		return err
	}
	head, err := conn.Hello(cctx)
	if err != nil {
		conn.Close()
		return fmt.Errorf("connect to %s: %w", r.opt.WSURL, err)
	}
	r.conn, r.head = conn, head
	return nil
}

func (r *repl) prompt() string {
	if r.current != "" {
		return "peacepie " + termtext.Line(r.current) + "> "
	}
	return "peacepie> "
}

// lineReader reads the commands: from the line editor (with completion and
// the history file) when stdin is a terminal, else plain lines without a
// prompt, so that `echo "ask x tick" | peacepie attach` prints only replies.
type lineReader interface {
	Prompt(prompt string) (string, error)
	AppendHistory(line string)
	Close() error
}

func (r *repl) lineReader() lineReader {
	if _, err := liner.TerminalMode(); err != nil { // stdin is not a terminal
		return &plainReader{sc: bufio.NewScanner(os.Stdin)}
	}
	line := liner.NewLiner()
	line.SetCtrlCAborts(true)
	line.SetWordCompleter(r.complete)
	line.SetTabCompletionStyle(liner.TabPrints)
	e := &editor{State: line, history: r.opt.HistoryFile}
	if e.history != "" {
		if f, err := os.Open(e.history); err == nil {
			line.ReadHistory(f)
			f.Close()
		}
	}
	return e
}

// editor is the line editor; Close saves the history and restores the
// terminal.
type editor struct {
	*liner.State
	history string
}

func (e *editor) Close() error {
	if e.history != "" {
		if f, err := os.OpenFile(e.history, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
			e.WriteHistory(f)
			f.Close()
		}
	}
	return e.State.Close()
}

// plainReader reads lines from a pipe or a file.
type plainReader struct{ sc *bufio.Scanner }

func (p *plainReader) Prompt(string) (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (p *plainReader) AppendHistory(string) {}
func (p *plainReader) Close() error         { return nil }

// replCommands are the words the REPL understands, for help and completion.
var replCommands = []string{"ask", "exit", "help", "info", "ls", "lua", "send", "tree", "use", "watch"}

const helpText = `commands:
  ls [NODE]                 actors of a process (default: the head's)
  tree                      hosts, their processes and actors
  info NAME                 class, package@version@commit, node, mailbox, handled, params
  ask NAME COMMAND [BODY]   ask an actor and print the reply (BODY is JSON)
  send NAME COMMAND [BODY]  send without waiting for a reply
  use NAME                  make NAME the current actor: then "ask COMMAND [BODY]"; "use" alone clears it
  watch [NAME|NODE]         print events and printed lines until Ctrl-C
  lua NAME CODE             evaluate Lua inside an actor, with self in scope (needs repl_lua = true)
  help                      this text
  exit                      detach (Ctrl-D too); the system keeps running.
                            To stop the system: ask <head admin> exit
Ctrl-C clears the line, ends a watch, or stops waiting for a reply.
`

// exec runs one line; it reports true when the user detaches.
func (r *repl) exec(ctx context.Context, text string) bool {
	cmd, rest := nextWord(text)
	switch cmd {
	case "exit", "quit":
		return true
	case "help", "?":
		fmt.Fprint(r.out, helpText)
	case "ls":
		node, _ := nextWord(rest)
		r.ls(ctx, node)
	case "tree":
		r.tree(ctx)
	case "info":
		name, _ := nextWord(rest)
		if name == "" {
			name = r.current
		}
		if name == "" {
			r.errorf("usage: info NAME")
			break
		}
		r.info(ctx, name)
	case "ask", "send":
		r.request(ctx, cmd, rest)
	case "use":
		r.use(ctx, strings.TrimSpace(rest))
	case "watch":
		filter, _ := nextWord(rest)
		r.watch(ctx, filter)
	case "lua":
		name, code := nextWord(rest)
		if name == "" || strings.TrimSpace(code) == "" {
			r.errorf("usage: lua NAME CODE   (for example: lua iterating_hello_world self.index)")
			break
		}
		r.lua(ctx, name, strings.TrimSpace(code))
	default:
		r.errorf("unknown command %q; type help", cmd)
	}
	return false
}

func nextWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], strings.TrimLeft(s[i:], " \t")
	}
	return s, ""
}

// errorf prints an error of the REPL (in red on a terminal). What comes
// from the system in it is escaped (termtext), as everything the REPL
// prints from there is.
func (r *repl) errorf(format string, args ...any) {
	msg := termtext.Text(fmt.Sprintf(format, args...))
	if isTerminal(r.opt.Err) {
		msg = "\x1b[31m" + msg + "\x1b[0m"
	}
	fmt.Fprintln(r.opt.Err, msg)
}

// ask sends one request, connecting again first if the connection was
// lost. A request whose connection breaks before the answer is not sent
// again: it may have been handled already. Ctrl-C stops the wait.
func (r *repl) ask(ctx context.Context, kind string, recipient any, command string, body any) (host.Message, error) {
	if err := r.alive(ctx); err != nil {
		return host.Message{}, err
	}
	ictx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	m, err := r.conn.Request(ictx, kind, recipient, command, body, r.opt.Timeout)
	if err != nil && ictx.Err() != nil && ctx.Err() == nil {
		return m, errors.New("interrupted: the request stays sent, and a reply that comes later is dropped")
	}
	if to, ok := recipient.(string); ok && err == nil && to == r.head && m.Command == "actor_is_not_found" && r.followHead(ictx) {
		// The head it had is gone and another heads the system (a
		// failover): the same request to the new one.
		m, err = r.conn.Request(ictx, kind, r.head, command, body, r.opt.Timeout)
	}
	if err == nil || !r.isLost() {
		return m, err
	}
	if aerr := r.alive(ctx); aerr != nil {
		return m, aerr
	}
	return m, fmt.Errorf("%v: the answer is lost, and the request may or may not have been handled", err)
}

// followHead asks the system again which admin heads it, and reports
// whether another does now (then r.head is that one, and it says so).
func (r *repl) followHead(ctx context.Context) bool {
	head, err := r.conn.Hello(ctx)
	if err != nil || head == "" || head == r.head {
		return false
	}
	fmt.Fprintf(r.opt.Err, "the system's head is now %s\n", termtext.Line(head))
	r.head = head
	return true
}

func (r *repl) isLost() bool {
	select {
	case <-r.conn.Done():
		return true
	default:
		return false
	}
}

// reconnectDelays are the pauses between the attempts to connect again
// after the connection was lost: four attempts over about 3 s.
var reconnectDelays = []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}

// alive makes sure there is a connection: if it was lost, it connects again
// or sets r.lost, which ends the REPL.
func (r *repl) alive(ctx context.Context) error {
	if !r.isLost() {
		return nil
	}
	r.errorf("connection lost (%v); reconnecting…", r.conn.Err())
	r.conn.Close()
	for _, d := range reconnectDelays {
		time.Sleep(d)
		if err := r.connect(ctx); err == nil {
			fmt.Fprintln(r.opt.Err, "reconnected")
			return nil
		}
	}
	r.lost = fmt.Errorf("the connection to %s is lost and cannot be made again", r.opt.WSURL)
	return r.lost
}

// request is ask/send: "NAME COMMAND [BODY]", or "COMMAND [BODY]" to the
// current actor. After use, "ask x y" is the command x with the body y when
// y looks like JSON or x is not a name, and otherwise the command y of the
// actor x (so that "ask nobody tick" says that there is no actor nobody).
func (r *repl) request(ctx context.Context, kind, rest string) {
	target, after := nextWord(rest)
	command, body := nextWord(after)
	isJSON := func(s string) bool { return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") }
	if r.current != "" && (command == "" || looksLikeJSON(after) || (!r.isName(ctx, target) && !isCommand(after))) {
		target, command, body = r.current, target, after
	}
	if target == "" || command == "" || isJSON(command) {
		r.errorf("usage: %s NAME COMMAND [BODY]   (or, after use NAME: %s COMMAND [BODY])", kind, kind)
		return
	}
	var b any
	if strings.TrimSpace(body) != "" {
		var err error
		if b, err = parseBody(body); err != nil {
			r.errorf("%v", err)
			return
		}
	}
	recipient := any(target)
	m, err := r.ask(ctx, kind, recipient, command, b)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	r.printMessage(m)
}

// looksLikeJSON reports whether s starts like a JSON value.
func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if strings.IndexByte("{[\"-0123456789", s[0]) >= 0 {
		return true
	}
	w, _ := nextWord(s)
	return w == "true" || w == "false" || w == "null"
}

// isCommand reports whether s, the rest of an ask after its first word, is
// "COMMAND [BODY]": a word such as tick or get_params, then JSON or nothing.
func isCommand(s string) bool {
	w, body := nextWord(s)
	if w == "" || looksLikeJSON(w) {
		return false
	}
	for _, c := range w {
		if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return body == "" || looksLikeJSON(body)
}

// parseBody reads a JSON body; an error shows where the problem is.
func parseBody(text string) (any, error) {
	text = strings.TrimSpace(text)
	var probe any
	if err := json.Unmarshal([]byte(text), &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			pos := int(se.Offset) - 1
			pos = max(0, min(pos, len(text)))
			return nil, fmt.Errorf("the body is not valid JSON: %v\n  %s\n  %s^", err, text, strings.Repeat(" ", pos))
		}
		return nil, fmt.Errorf("the body is not valid JSON: %v", err)
	}
	return host.UnmarshalValue([]byte(text))
}

func (r *repl) isName(ctx context.Context, s string) bool {
	if host.IsAdminName(s) {
		return true
	}
	for _, n := range r.actorNames(ctx) {
		if n == s {
			return true
		}
	}
	return false
}

func (r *repl) use(ctx context.Context, name string) {
	if name == "" || name == ".." {
		r.current = ""
		return
	}
	if host.IsAdminName(name) {
		r.current = name
		return
	}
	m, err := r.ask(ctx, "ask", r.head, "seek_actor", host.Object{{Key: "entity", Value: name}})
	if err != nil {
		r.errorf("%v", err)
		return
	}
	if m.Command != "actor_is_found" {
		r.errorf("there is no actor %q (ls lists them)", name)
		return
	}
	r.current = name
}

func (r *repl) ls(ctx context.Context, node string) {
	if node == "" {
		node = r.head
	}
	m, err := r.ask(ctx, "ask", node, "get_actors", nil)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	if m.Command != "actors" {
		r.printMessage(m)
		return
	}
	o, _ := m.Body.(host.Object)
	list, _ := func() (host.Array, bool) { v, _ := o.Get("actors"); a, ok := v.(host.Array); return a, ok }()
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCLASS\tPACKAGE\tMAILBOX\tHANDLED")
	fmt.Fprintf(tw, "%s\t(admin)\t\t\t\n", termtext.Line(node))
	for _, a := range list {
		ao, _ := a.(host.Object)
		mb, _ := ao.Get("mailbox")
		hd, _ := ao.Get("handled")
		fmt.Fprintf(tw, "%s\t%s\t%s@%s\t%s\t%s\n", field(ao, "name"), field(ao, "class"), field(ao, "package"), field(ao, "version"), show(mb), show(hd))
	}
	tw.Flush()
	if total, _ := o.Get("total"); total != nil {
		if n, ok := total.(int64); ok && n > int64(len(list)) {
			fmt.Fprintf(r.out, "(the first %d of %d actors, by name)\n", len(list), n)
		}
	}
}

func (r *repl) tree(ctx context.Context) {
	m, err := r.ask(ctx, "ask", r.head, "get_hosts", nil)
	if err != nil || m.Command != "hosts" {
		r.reportFailure(m, err)
		return
	}
	o, _ := m.Body.(host.Object)
	hv, _ := o.Get("hosts")
	hosts, _ := hv.(host.Array)
	for _, h := range hosts {
		ho, _ := h.(host.Object)
		if st := ho.String("state"); st != "" && st != "up" {
			fmt.Fprintf(r.out, "%s (%s: %s)\n", field(ho, "name"), termtext.Line(st), field(ho, "reason"))
			continue
		}
		fmt.Fprintf(r.out, "%s\n", field(ho, "name"))
		pv, _ := ho.Get("processes")
		procs, _ := pv.(host.Array)
		for i, p := range procs {
			node, _ := p.(string)
			last := i == len(procs)-1
			fmt.Fprintf(r.out, "%s %s\n", branch(last), termtext.Line(node))
			am, err := r.ask(ctx, "ask", node, "get_actors", nil)
			if err != nil || am.Command != "actors" {
				r.reportFailure(am, err)
				continue
			}
			ao, _ := am.Body.(host.Object)
			av, _ := ao.Get("actors")
			actors, _ := av.(host.Array)
			indent := "│   "
			if last {
				indent = "    "
			}
			for j, a := range actors {
				a2, _ := a.(host.Object)
				fmt.Fprintf(r.out, "%s%s %s (%s %s@%s)\n", indent, branch(j == len(actors)-1), field(a2, "name"), field(a2, "class"), field(a2, "package"), field(a2, "version"))
			}
		}
	}
}

// field is a string field of a reply, escaped for the terminal.
func field(o host.Object, key string) string { return termtext.Line(o.String(key)) }

// show is a value of a reply as %v would print it, escaped.
func show(v any) string { return termtext.Line(fmt.Sprint(v)) }

func branch(last bool) string {
	if last {
		return "└──"
	}
	return "├──"
}

func (r *repl) info(ctx context.Context, name string) {
	m, err := r.ask(ctx, "ask", r.head, "get_actor", host.Object{{Key: "name", Value: name}})
	if err != nil || m.Command != "actor" {
		r.reportFailure(m, err)
		return
	}
	o, _ := m.Body.(host.Object)
	get := func(k string) any { v, _ := o.Get(k); return v }
	fmt.Fprintf(r.out, "name     %s\nclass    %s\npackage  %s@%s", termtext.Line(name), field(o, "class"), field(o, "package"), field(o, "version"))
	if c := o.String("commit"); c != "" {
		fmt.Fprintf(r.out, "@%s", termtext.Line(c))
	}
	fmt.Fprintf(r.out, "\nnode     %s\nmailbox  %s\nhandled  %s\n", field(o, "node"), show(get("mailbox")), show(get("handled")))
	if n, ok := get("refused").(int64); ok && n > 0 {
		fmt.Fprintf(r.out, "refused  %d (the mailbox was full)\n", n)
	}
	pm, err := r.ask(ctx, "ask", name, "get_params", nil)
	if err == nil && pm.Command == "params" {
		po, _ := pm.Body.(host.Object)
		pv, _ := po.Get("params")
		params, _ := pv.(host.Array)
		if len(params) > 0 {
			fmt.Fprintln(r.out, "params")
			for _, p := range params {
				p2, _ := p.(host.Object)
				v, _ := p2.Get("value")
				js, _ := host.MarshalValue(v)
				fmt.Fprintf(r.out, "  %s = %s\n", field(p2, "name"), termtext.JSON(js))
			}
		}
	}
}

func (r *repl) lua(ctx context.Context, name, code string) {
	m, err := r.ask(ctx, "ask", r.head, "eval", host.Object{{Key: "name", Value: name}, {Key: "code", Value: code}})
	if err != nil {
		r.errorf("%v", err)
		return
	}
	if m.Command != "evaluated" {
		r.reportFailure(m, nil)
		return
	}
	o, _ := m.Body.(host.Object)
	v, _ := o.Get("result")
	r.printValue(v)
}

// watch prints events until Ctrl-C (SIGINT, outside the line editor).
func (r *repl) watch(ctx context.Context, filter string) {
	wctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGINT)
	defer stop()
	if err := r.alive(ctx); err != nil {
		r.errorf("%v", err)
		return
	}
	if filter != "" {
		if ok, err := r.exists(wctx, filter); err != nil {
			r.errorf("%v", err)
			return
		} else if !ok {
			r.errorf("there is no actor or process %q in the system: nothing to watch (tree lists them)", filter)
			return
		}
	}
	events, err := r.conn.Watch(wctx, filter)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	what := "everything"
	if filter != "" {
		what = filter
	}
	fmt.Fprintf(r.opt.Err, "watching %s; Ctrl-C to stop\n", termtext.Line(what))
	for m := range events {
		o, _ := m.Body.(host.Object)
		switch o.String("kind") {
		case "printed": // a line an actor printed: its own text, escaped
			fmt.Fprintf(r.out, "%s: %s\n", field(o, "actor"), field(o, "line"))
		case "created":
			fmt.Fprintf(r.out, "+ %s (%s %s@%s) in %s\n", field(o, "actor"), field(o, "class"), field(o, "package"), field(o, "version"), field(o, "node"))
		case "removed":
			fmt.Fprintf(r.out, "- %s from %s\n", field(o, "actor"), field(o, "node"))
		case "moved":
			fmt.Fprintf(r.out, "> %s moved to %s\n", field(o, "actor"), field(o, "node"))
		case "exiting":
			fmt.Fprintf(r.out, "! the system is exiting\n")
		case "log":
			fmt.Fprintf(r.out, "log %s\n", field(o, "line"))
		default:
			r.printMessage(m)
		}
	}
	select {
	case <-r.conn.Done():
		r.errorf("connection lost: %v", r.conn.Err())
	default:
	}
}

// exists reports whether name is an actor or a process admin of the
// system, asking the head (seek_actor, get_hosts).
func (r *repl) exists(ctx context.Context, name string) (bool, error) {
	if !host.IsAdminName(name) {
		m, err := r.ask(ctx, "ask", r.head, "seek_actor", host.Object{{Key: "entity", Value: name}})
		switch {
		case err != nil:
			return false, err
		case m.Command != "actor_is_found" && m.Command != "actor_is_not_found":
			return false, fmt.Errorf("cannot tell whether %q exists: seek_actor answered %s", name, describeReply(m))
		}
		return m.Command == "actor_is_found", nil
	}
	m, err := r.ask(ctx, "ask", r.head, "get_hosts", nil)
	if err != nil {
		return false, err
	}
	if m.Command != "hosts" {
		return false, fmt.Errorf("cannot tell whether %q exists: get_hosts answered %s", name, describeReply(m))
	}
	o, _ := m.Body.(host.Object)
	hv, _ := o.Get("hosts")
	hosts, _ := hv.(host.Array)
	for _, h := range hosts {
		ho, _ := h.(host.Object)
		pv, _ := ho.Get("processes")
		procs, _ := pv.(host.Array)
		for _, p := range procs {
			if p == name {
				return true, nil
			}
		}
	}
	return false, nil
}

// describeReply is a reply's command and body, as JSON.
func describeReply(m host.Message) string {
	data, err := host.MarshalValue(m.Body)
	if err != nil {
		return m.Command
	}
	return m.Command + " " + string(data)
}

func (r *repl) reportFailure(m host.Message, err error) {
	if err != nil {
		r.errorf("%v", err)
		return
	}
	r.printMessage(m)
}

// printMessage prints a reply: its command and body.
func (r *repl) printMessage(m host.Message) {
	if !r.tty {
		data, _ := m.MarshalJSON()
		fmt.Fprintf(r.out, "%s\n", termtext.JSON(data))
		return
	}
	cmd := termtext.Line(m.Command)
	if client.IsFailure(cmd) {
		cmd = "\x1b[31m" + cmd + "\x1b[0m"
	} else {
		cmd = "\x1b[1m" + cmd + "\x1b[0m"
	}
	if m.Body == nil {
		fmt.Fprintln(r.out, cmd)
		return
	}
	fmt.Fprint(r.out, cmd+" ")
	r.printValue(m.Body)
}

// printValue prints JSON: indented and coloured on a terminal, compact
// otherwise.
func (r *repl) printValue(v any) {
	data, err := host.MarshalValue(v)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	data = termtext.JSON(data) // a reply's strings are the actor's: escaped
	if !r.tty {
		fmt.Fprintf(r.out, "%s\n", data)
		return
	}
	var buf bytes.Buffer
	json.Indent(&buf, data, "", "  ")
	fmt.Fprintln(r.out, colorJSON(buf.String()))
}

// colorJSON colours an indented JSON text: keys, strings, numbers, literals.
func colorJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			color := "32" // a string
			if k := strings.TrimLeft(s[j:], " "); strings.HasPrefix(k, ":") {
				color = "36" // a key
			}
			b.WriteString("\x1b[" + color + "m" + s[i:j] + "\x1b[0m")
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			b.WriteString("\x1b[33m" + s[i:j] + "\x1b[0m")
			i = j
		case strings.HasPrefix(s[i:], "true") || strings.HasPrefix(s[i:], "null"):
			b.WriteString("\x1b[35m" + s[i:i+4] + "\x1b[0m")
			i += 4
		case strings.HasPrefix(s[i:], "false"):
			b.WriteString("\x1b[35m" + s[i:i+5] + "\x1b[0m")
			i += 5
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// complete is the word completer: REPL commands first, then names, then
// the commands of the named (or current) actor.
func (r *repl) complete(line string, pos int) (head string, completions []string, tail string) {
	runes := []rune(line) // liner counts pos in runes
	pos = max(0, min(pos, len(runes)))
	before, tail := string(runes[:pos]), string(runes[pos:])
	start := strings.LastIndexAny(before, " \t") + 1
	head, word := before[:start], before[start:]
	words := strings.Fields(before[:start])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var candidates []string
	switch {
	case len(words) == 0:
		candidates = replCommands
	case len(words) == 1 && (words[0] == "ask" || words[0] == "send"):
		candidates = append(r.actorNames(ctx), r.head)
		if r.current != "" {
			candidates = append(candidates, r.actorCommands(ctx, r.current)...)
		}
	case len(words) == 1 && (words[0] == "info" || words[0] == "use" || words[0] == "lua" || words[0] == "watch" || words[0] == "ls"):
		candidates = append(r.actorNames(ctx), r.head)
	case len(words) == 2 && (words[0] == "ask" || words[0] == "send"):
		candidates = r.actorCommands(ctx, words[1])
	}
	seen := map[string]bool{}
	for _, c := range candidates {
		if termtext.Line(c) != c { // liner prints candidates as they are
			continue
		}
		if strings.HasPrefix(c, word) && !seen[c] {
			seen[c] = true
			completions = append(completions, c)
		}
	}
	sort.Strings(completions)
	return head, completions, tail // liner lists the candidates alone
}

// actorNames returns the actor names of the head's process, cached for a
// few seconds.
func (r *repl) actorNames(ctx context.Context) []string {
	r.mu.Lock()
	if time.Since(r.namesAt) < 3*time.Second {
		names := r.names
		r.mu.Unlock()
		return names
	}
	r.mu.Unlock()
	m, err := r.conn.Request(ctx, "ask", r.head, "get_actors", nil, r.opt.Timeout)
	if err != nil || m.Command != "actors" {
		return nil
	}
	o, _ := m.Body.(host.Object)
	v, _ := o.Get("actors")
	list, _ := v.(host.Array)
	names := make([]string, 0, len(list))
	for _, a := range list {
		ao, _ := a.(host.Object)
		names = append(names, ao.String("name"))
	}
	r.mu.Lock()
	r.names, r.namesAt = names, time.Now()
	r.mu.Unlock()
	return names
}

// actorCommands returns the commands an actor understands (get_commands).
func (r *repl) actorCommands(ctx context.Context, name string) []string {
	r.mu.Lock()
	cmds, ok := r.commands[name]
	r.mu.Unlock()
	if ok {
		return cmds
	}
	m, err := r.conn.Request(ctx, "ask", name, "get_commands", nil, r.opt.Timeout)
	if err != nil || m.Command != "commands" {
		return nil
	}
	o, _ := m.Body.(host.Object)
	v, _ := o.Get("commands")
	list, _ := v.(host.Array)
	for _, c := range list {
		if s, ok := c.(string); ok {
			cmds = append(cmds, s)
		}
	}
	r.mu.Lock()
	r.commands[name] = cmds
	r.mu.Unlock()
	return cmds
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

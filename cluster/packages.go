package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/net/link"
)

// One package set for the system: the root's repo list and lock
// (repo.Set). The root sends it to every child when it links, to every
// host in host_welcome, and again to all of them whenever it changes (its
// list or lock file was edited, `peacepie repo update` accepted a moved
// tag, a tag was pinned). A host passes it on to its children. A process
// that follows the set and needs a tag the set does not pin yet asks the
// root to pin it (pin_package), so every tag has one commit in the system.

// Packages is the package set of a process (*repo.Store implements it).
type Packages interface {
	// SystemSetJSON is the set this process has: the root's own, or the
	// one it follows.
	SystemSetJSON() (string, error)
	// FollowJSON makes the process use the set the root sent.
	FollowJSON(set string) error
	// Lead makes a process that followed the set lead with it: its host
	// took over as the root.
	Lead()
	// PinTag returns the commit of a tag, fetching and locking it first
	// if needed (root only).
	PinTag(ctx context.Context, name, version string) (string, error)
	// PackageTreeJSON returns the files of a pinned, cached version, for
	// a host that cannot fetch it from its URL (root only).
	PackageTreeJSON(name, version, commit string) (string, error)
}

// packagesEvery is how often the root looks whether its set changed.
const packagesEvery = 300 * time.Millisecond

// watchPackages pushes the root's set to every child and host whenever it
// changes, until the head stops (root only).
// A root that yields to another (after a partition) follows its set, and
// stops pushing until it takes over again.
func (h *Head) watchPackages() {
	if !h.watchingPackages.CompareAndSwap(false, true) {
		return // one watch for the head's life
	}
	last, _ := h.cfg.Packages.SystemSetJSON()
	t := time.NewTicker(packagesEvery)
	defer t.Stop()
	for range t.C {
		if h.isStopping() {
			return
		}
		if !h.root.Load() {
			last = ""
			continue
		}
		set, err := h.cfg.Packages.SystemSetJSON()
		if err != nil || set == last {
			continue
		}
		last = set
		h.mu.Lock()
		to := h.neighbours("")
		h.mu.Unlock()
		h.log.Info("the system's package set changed: sending it to every process", "links", len(to))
		for _, c := range to {
			h.sendPackages(c, set)
		}
	}
}

// sendPackages sends a package set down a link (a child, or a host).
func (h *Head) sendPackages(c *link.Conn, set string) {
	m := host.Message{System: true, ID: h.proc.NewMID(), Command: "packages", Recipient: host.Address{Node: c.Peer()},
		Body: host.Object{{Key: "set", Value: set}}}
	if err := sendOn(c, m); err != nil {
		h.log.Warn("the package set is not sent", "to", c.Peer(), "error", err.Error())
	}
}

// packagesForChild sends a child that just linked the set this host has,
// before anything else reaches it.
func (h *Head) packagesForChild(c *link.Conn) {
	if h.cfg.Packages == nil {
		return
	}
	set, err := h.cfg.Packages.SystemSetJSON()
	if err != nil {
		h.log.Error("the package set is not sent to a new process", "node", c.Peer(), "error", err.Error())
		return
	}
	h.sendPackages(c, set)
}

// followPackages applies the set the root sent to this host (in
// host_welcome or packages) and passes it on to the children.
func (h *Head) followPackages(set string) {
	if h.cfg.Packages == nil || set == "" {
		return
	}
	if err := h.cfg.Packages.FollowJSON(set); err != nil {
		h.log.Error("the system's package set is not applied", "error", err.Error())
		return
	}
	h.mu.Lock()
	to := make([]*link.Conn, 0, len(h.children))
	for _, ch := range h.children {
		to = append(to, ch.conn)
	}
	h.mu.Unlock()
	for _, c := range to {
		h.sendPackages(c, set)
	}
}

// pinPackage answers pin_package {name, version} at the root with
// package_is_pinned {commit}, or package_is_not_pinned {mid, error}.
func (h *Head) pinPackage(p *host.Process, req host.Message) {
	body, _ := req.Body.(host.Object)
	name, version := body.String("name"), body.String("version")
	if h.cfg.Packages == nil {
		p.Reply(&req, "package_is_not_pinned", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: "the system's root shares no package set"}})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pinTimeout)
	defer cancel()
	commit, err := h.cfg.Packages.PinTag(ctx, name, version)
	if err != nil {
		p.Reply(&req, "package_is_not_pinned", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
		return
	}
	p.Reply(&req, "package_is_pinned", host.Object{{Key: "name", Value: name}, {Key: "version", Value: version}, {Key: "commit", Value: commit}})
}

// fetchPackage answers fetch_package {name, version, commit} at the root
// with package_is_fetched {tree}, or package_is_not_fetched {mid, error}.
func (h *Head) fetchPackage(p *host.Process, req host.Message) {
	body, _ := req.Body.(host.Object)
	if h.cfg.Packages == nil {
		p.Reply(&req, "package_is_not_fetched", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: "the system's root shares no package set"}})
		return
	}
	tree, err := h.cfg.Packages.PackageTreeJSON(body.String("name"), body.String("version"), body.String("commit"))
	if err != nil {
		p.Reply(&req, "package_is_not_fetched", host.Object{{Key: "mid", Value: req.ID.String()}, {Key: "error", Value: err.Error()}})
		return
	}
	h.log.Info("package files sent over the link", "to", req.Sender.Node, "package", body.String("name"), "version", body.String("version"), "bytes", len(tree))
	p.Reply(&req, "package_is_fetched", host.Object{{Key: "tree", Value: tree}})
}

// AskTree returns a function that asks the system's root (as AskPin) for
// the files of a pinned version this host cannot fetch from its URL. It
// is repo.Store.FetchTree.
func AskTree(proc *host.Process, head func() string) func(ctx context.Context, name, version, commit string) (string, error) {
	return func(ctx context.Context, name, version, commit string) (string, error) {
		timeout := pinTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = time.Until(d)
		}
		r, err := proc.Ask(ctx, host.Message{System: true, Command: "fetch_package", Recipient: host.Address{Node: head()},
			Body: host.Object{{Key: "name", Value: name}, {Key: "version", Value: version}, {Key: "commit", Value: commit}}}, timeout)
		if err != nil {
			return "", fmt.Errorf("ask the system's root for the files of %s %s: %w", name, version, err)
		}
		o, _ := r.Body.(host.Object)
		if r.Command != "package_is_fetched" {
			if e := o.String("error"); e != "" {
				return "", errors.New(e)
			}
			return "", fmt.Errorf("the files of %s %s: the root answered %s: %s", name, version, r.Command, describe(r.Body))
		}
		return o.String("tree"), nil
	}
}

// pinTimeout bounds a pin at the root, a fetch included.
const pinTimeout = 2 * time.Minute

// AskPin returns a function that asks the system's root (through the
// admin head() names: the root, or this process's head, which passes it
// on) for the commit of a tag the followed set does not pin yet: the
// root fetches and locks it first. It is repo.Store.AskPin.
func AskPin(proc *host.Process, head func() string) func(ctx context.Context, name, version string) (string, error) {
	return func(ctx context.Context, name, version string) (string, error) {
		timeout := pinTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = time.Until(d)
		}
		r, err := proc.Ask(ctx, host.Message{System: true, Command: "pin_package", Recipient: host.Address{Node: head()},
			Body: host.Object{{Key: "name", Value: name}, {Key: "version", Value: version}}}, timeout)
		if err != nil {
			return "", fmt.Errorf("ask the system's root to pin %s %s: %w", name, version, err)
		}
		o, _ := r.Body.(host.Object)
		if r.Command != "package_is_pinned" || o.String("commit") == "" {
			if e := o.String("error"); e != "" {
				return "", errors.New(e)
			}
			return "", fmt.Errorf("pin %s %s: the root answered %s: %s", name, version, r.Command, describe(r.Body))
		}
		return o.String("commit"), nil
	}
}

package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peacepie/peacepie/host"
)

// /metrics: the host's processes in Prometheus' text format, behind the
// token (docs/console.md, "Metrics"). A scrape asks the host's main
// process for its processes (get_processes) and each of them for its
// counters (get_metrics, host/metrics.go), at once, for metricsAskTimeout
// at most; a process that does not answer is reported down
// (peacepie_process_up 0) and its series are left out of that scrape.
// Nothing is counted on the message path for it. The main process's own
// Go runtime and OS process figures follow (go_*, process_*).

// metricsAskTimeout bounds one process's answer to a scrape.
const metricsAskTimeout = 2 * time.Second

type metricsCollector struct {
	gw Gateway
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append([]string{"process"}, labels...), nil)
}

var (
	descUp          = desc("peacepie_process_up", "1 when the process answered this scrape, 0 when it did not within 2 s.")
	descActors      = desc("peacepie_actors", "Actors the process holds.")
	descHibernating = desc("peacepie_actors_hibernating", "Actors of the process that hibernate (their Lua state given up until their next message).")
	descHandled     = desc("peacepie_messages_handled_total", "Messages the process's actors (and its admin) handled.")
	descRefused     = desc("peacepie_messages_refused_total", "Messages refused because an actor's mailbox was full.")
	descMailbox     = desc("peacepie_mailbox_messages", "Messages waiting in the process's mailboxes.")
	descLate        = desc("peacepie_late_replies_total", "Replies that came after their ask had ended (timed out).")
	descPauses      = desc("peacepie_link_pauses_total", "Times a link reader was held back by a full mailbox.")
	descAsks        = desc("peacepie_asks_total", "Asks the process made (its actors, its admin, the console through it).")
	descAskTimeouts = desc("peacepie_ask_timeouts_total", "Asks of the process that timed out.")
	descMovesRun    = desc("peacepie_moves_run_total", "Moves the process ran as the system's root.")
	descMovesOut    = desc("peacepie_moves_out_pending", "Actors moved out of the process whose moves are not done yet.")
	descHeap        = desc("peacepie_go_heap_bytes", "Bytes of live and not yet swept objects on the process's Go heap.")
	descGC          = desc("peacepie_go_gc_cycles_total", "Go garbage collections the process has run.")
	descRestarts    = desc("peacepie_process_restarts_total", "Child processes the process restarted, as their head, after they ended by themselves.")
	descGCPause     = desc("peacepie_go_gc_pause_seconds_total", "Time the process's Go collections stopped the world.")
	descGoroutines  = desc("peacepie_goroutines", "Goroutines of the process.")
	descThreads     = desc("peacepie_os_threads", "OS threads the process's Go runtime has made.")
	descRSS         = desc("peacepie_resident_memory_bytes", "The process's resident set size (Linux).")
	descLinkFrames  = desc("peacepie_link_frames_total", "Message and control frames on a link of the process since the link was made.", "peer", "direction")
	descLinkBytes   = desc("peacepie_link_bytes_total", "Bytes on a link of the process (headers and keep-alives included) since the link was made.", "peer", "direction")
	descPkgActors   = desc("peacepie_package_actors", "Actors of a package version in the process.", "package", "version")
	descPkgHandled  = desc("peacepie_package_messages_handled_total", "Messages handled by actors of a package version in the process.", "package", "version")
	descPkgRefused  = desc("peacepie_package_messages_refused_total", "Messages refused by full mailboxes of a package version's actors.", "package", "version")
	descPkgMailbox  = desc("peacepie_package_mailbox_messages", "Messages waiting in the mailboxes of a package version's actors.", "package", "version")
	descLuaMemory   = desc("peacepie_lua_memory_bytes", "What the process's Lua actors hold, each as last measured by a walk of its state (at most a second old when it could be measured).")
	descPkgMemory   = desc("peacepie_package_lua_memory_bytes", "What a package version's Lua actors hold, each as last measured.", "package", "version")
	metricsAllDescs = []*prometheus.Desc{descUp, descActors, descHibernating, descHandled, descRefused, descMailbox, descLate, descPauses, descAsks, descAskTimeouts, descMovesRun, descMovesOut,
		descHeap, descGC, descGoroutines, descThreads, descRSS, descLinkFrames, descLinkBytes, descPkgActors, descPkgHandled, descPkgRefused, descPkgMailbox,
		descLuaMemory, descPkgMemory, descGCPause, descRestarts}
)

func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metricsAllDescs {
		ch <- d
	}
}

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*metricsAskTimeout)
	defer cancel()
	nodes := c.hostProcesses(ctx)
	answers := make([]host.Object, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.gw.Ask(ctx, host.Message{Command: "get_metrics", Recipient: host.Address{Node: node}}, metricsAskTimeout)
			if err == nil && r.Command == "metrics" {
				answers[i], _ = r.Body.(host.Object)
			}
		}()
	}
	wg.Wait()
	for i, node := range nodes {
		o := answers[i]
		if o == nil {
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, node)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1, node)
		num := func(key string) float64 { v, _ := o.Get(key); n, _ := v.(int64); return float64(n) }
		for _, m := range []struct {
			d   *prometheus.Desc
			t   prometheus.ValueType
			key string
		}{
			{descActors, prometheus.GaugeValue, "actors"},
			{descHibernating, prometheus.GaugeValue, "hibernating"},
			{descHandled, prometheus.CounterValue, "handled"},
			{descRefused, prometheus.CounterValue, "refused"},
			{descMailbox, prometheus.GaugeValue, "mailbox"},
			{descLuaMemory, prometheus.GaugeValue, "lua_memory_bytes"},
			{descLate, prometheus.CounterValue, "late_replies"},
			{descPauses, prometheus.CounterValue, "link_pauses"},
			{descAsks, prometheus.CounterValue, "asks"},
			{descAskTimeouts, prometheus.CounterValue, "ask_timeouts"},
			{descMovesRun, prometheus.CounterValue, "moves_run"},
			{descRestarts, prometheus.CounterValue, "process_restarts"},
			{descMovesOut, prometheus.GaugeValue, "moves_out"},
			{descHeap, prometheus.GaugeValue, "go_heap_bytes"},
			{descGC, prometheus.CounterValue, "go_gc_cycles"},
			{descGoroutines, prometheus.GaugeValue, "goroutines"},
			{descThreads, prometheus.GaugeValue, "os_threads"},
			{descRSS, prometheus.GaugeValue, "rss_bytes"},
		} {
			ch <- prometheus.MustNewConstMetric(m.d, m.t, num(m.key), node)
		}
		ch <- prometheus.MustNewConstMetric(descGCPause, prometheus.CounterValue, num("go_gc_pause_ns")/1e9, node)
		links, _ := o.Get("links")
		linkList, _ := links.(host.Array)
		for _, v := range linkList {
			l, _ := v.(host.Object)
			lnum := func(key string) float64 { v, _ := l.Get(key); n, _ := v.(int64); return float64(n) }
			peer := l.String("peer")
			ch <- prometheus.MustNewConstMetric(descLinkFrames, prometheus.CounterValue, lnum("frames_in"), node, peer, "in")
			ch <- prometheus.MustNewConstMetric(descLinkFrames, prometheus.CounterValue, lnum("frames_out"), node, peer, "out")
			ch <- prometheus.MustNewConstMetric(descLinkBytes, prometheus.CounterValue, lnum("bytes_in"), node, peer, "in")
			ch <- prometheus.MustNewConstMetric(descLinkBytes, prometheus.CounterValue, lnum("bytes_out"), node, peer, "out")
		}
		packages, _ := o.Get("packages")
		list, _ := packages.(host.Array)
		for _, v := range list {
			pkg, _ := v.(host.Object)
			name, version := pkg.String("package"), pkg.String("version")
			pnum := func(key string) float64 { v, _ := pkg.Get(key); n, _ := v.(int64); return float64(n) }
			ch <- prometheus.MustNewConstMetric(descPkgActors, prometheus.GaugeValue, pnum("actors"), node, name, version)
			ch <- prometheus.MustNewConstMetric(descPkgHandled, prometheus.CounterValue, pnum("handled"), node, name, version)
			ch <- prometheus.MustNewConstMetric(descPkgRefused, prometheus.CounterValue, pnum("refused"), node, name, version)
			ch <- prometheus.MustNewConstMetric(descPkgMailbox, prometheus.GaugeValue, pnum("mailbox"), node, name, version)
			ch <- prometheus.MustNewConstMetric(descPkgMemory, prometheus.GaugeValue, pnum("lua_memory_bytes"), node, name, version)
		}
	}
}

// hostProcesses returns the main process's admin and its children's, as
// its get_processes lists them (the main process alone if it does not
// answer).
func (c *metricsCollector) hostProcesses(ctx context.Context) []string {
	self := c.gw.AdminName()
	r, err := c.gw.Ask(ctx, host.Message{Command: "get_processes", Recipient: host.Address{Node: self}}, metricsAskTimeout)
	if err != nil {
		return []string{self}
	}
	o, _ := r.Body.(host.Object)
	v, _ := o.Get("processes")
	list, _ := v.(host.Array)
	nodes := []string{self}
	for _, p := range list {
		po, _ := p.(host.Object)
		if node := po.String("node"); node != "" && node != self && po.String("state") != "gone" {
			nodes = append(nodes, node)
		}
	}
	return nodes
}

// metricsHandler serves /metrics for the gateway's host.
func metricsHandler(gw Gateway) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&metricsCollector{gw: gw},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

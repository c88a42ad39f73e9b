package luart_test

import (
	"context"
	"testing"
	"time"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/testhost"
)

// BenchmarkLuaCompute: one op is an ask whose handler runs about 50,000
// Lua instructions (10 × spin_here(1000) of spinPackage): what the VM's
// per-instruction checks cost, with no profile running.
func BenchmarkLuaCompute(b *testing.B) { benchCompute(b, false) }

// BenchmarkLuaComputeProfiled: the same while profile_lua samples the
// actor every millisecond.
func BenchmarkLuaComputeProfiled(b *testing.B) { benchCompute(b, true) }

func benchCompute(b *testing.B, profiled bool) {
	p := testhost.Start(b, host.Config{}, spinPackage)
	body := testhost.MustJSON(b, `{"class_desc": {"requires_dist": "spinpkg", "class": "Spinner"}, "name": "s"}`)
	if r := p.Ask(b, "first.main.admin", "create_actor", body); r.Command != "actor_is_created" {
		b.Fatalf("create: %s %v", r.Command, r.Body)
	}
	if profiled {
		go p.Process.Ask(context.Background(), host.Message{Command: "profile_lua", Recipient: host.Address{Node: "first.main.admin"},
			Body: host.Object{{Key: "actor", Value: "s"}, {Key: "seconds", Value: int64(60)}}}, 2*time.Minute) //nolint:errcheck // ends with the process
	}
	work := host.Object{{Key: "n", Value: int64(10)}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := p.Ask(b, "s", "work", work); r.Command != "is_handled" {
			b.Fatalf("work: %s %v", r.Command, r.Body)
		}
	}
}

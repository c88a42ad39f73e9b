package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// echoServerEnv makes the test binary an echo server (TestMain): the other
// process of BenchmarkTCPEcho.
const echoServerEnv = "PEACEPIE_BENCH_ECHO_SERVER"

// serveEcho listens on loopback, prints its address and echoes what the
// first connection sends until it ends.
func serveEcho() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo server:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	c, err := ln.Accept()
	if err != nil {
		os.Exit(1)
	}
	io.Copy(c, c)
}

// BenchmarkTCPEcho is the baseline of the cross-process benchmarks,
// measured in the same run: a bare TCP round trip of 32 bytes between this
// process and another on loopback (no framing, no actors). One b.N
// iteration is one round trip; msgs/s counts both ways, as the ping-pongs
// do.
func BenchmarkTCPEcho(b *testing.B) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), echoServerEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("the echo server did not start: %v", err)
	}
	c, err := net.Dial("tcp", strings.TrimSpace(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, back := make([]byte, 32), make([]byte, 32)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, back); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

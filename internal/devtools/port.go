package devtools

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Bounds of the ports FreeAddr picks from when the kernel's ephemeral range
// cannot be read.
const (
	lowestPort    = 10000
	ephemeralLow  = 32768 // Linux's default net.ipv4.ip_local_port_range
	freeAddrTries = 64
)

// FreeAddr returns a 127.0.0.1 address, host:port, whose port was free a
// moment ago, for a server of another process that the caller starts next
// (aws-lambda-rie, moto_server), which binds it only later. The port is
// outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range),
// which every outgoing connection and every listener on port 0 draws from:
// with many tests connecting at once, a port from that range is often
// taken again before the server binds it ("address already in use"). It
// falls back to a port the kernel picks.
func FreeAddr() (string, error) {
	lo := ephemeralStart()
	for range freeAddrTries {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lowestPort+rand.IntN(lo-lowestPort)))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ephemeralStart is the first port of the kernel's ephemeral range, or
// Linux's default where it cannot be read.
func ephemeralStart() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > lowestPort+1000 {
				return n
			}
		}
	}
	return ephemeralLow
}

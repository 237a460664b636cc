//go:build benchprof

package main

import (
	"encoding/json"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiles, on their own listener only
	"os"
)

// Built with -tags benchprof (by the benchmark harness, internal/cmd/bieuquyet-bench
// --profile), the server serves net/http/pprof on BIEUQUYET_PPROF_LISTEN (a loopback
// address; port 0 picks one) and logs the address on stderr. Production builds have none
// of this.
func init() {
	addr := os.Getenv("BIEUQUYET_PPROF_LISTEN")
	if addr == "" {
		return
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return
	}
	line, _ := json.Marshal(map[string]string{"msg": "pprof", "addr": lis.Addr().String()})
	os.Stderr.Write(append(line, '\n'))
	go http.Serve(lis, nil) //nolint:errcheck // lives as long as the process
}

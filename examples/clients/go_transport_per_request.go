// Habit: a new `http.Client` with a new `http.Transport` for every request (say, to set a
// TLS option per call), never closed. Each Transport has its own pool, so every request
// opens a new connection with a full handshake, and each pool keeps its idle connection
// until the program exits.
// Usage: go build -o go_transport_per_request go_transport_per_request.go &&
// ./go_transport_per_request [N=50]
// (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE, which crypto/x509 reads on Linux)
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	const name = "go_transport_per_request"
	n := 50
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(2)
		}
		n = v
	}
	url := os.Getenv("TLS_SESSION_COST_URL")
	if url == "" {
		fmt.Fprintf(os.Stderr, "%s: TLS_SESSION_COST_URL is not set\n", name)
		os.Exit(2)
	}
	for i := 1; i <= n; i++ {
		client := &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}},
		}
		resp, err := client.Get(url)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: request %d failed: %v\n", name, i, err)
			os.Exit(1)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "%s: request %d: HTTP %d %v\n", name, i, resp.StatusCode, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %d requests ok\n", name, n)
}

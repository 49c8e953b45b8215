// Habit: one shared `http.Client` whose Transport keeps no idle connection
// (`DisableKeepAlives`) and whose `tls.Config` has a `ClientSessionCache`. Every request opens
// a new connection and closes it after the response, but the cache keeps the server's session
// tickets, so each handshake after the first resumes. Go keeps no TLS sessions unless a
// ClientSessionCache is set.
// Usage: go build -o go_session_cache go_session_cache.go && ./go_session_cache [N=50]
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
	const name = "go_session_cache"
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
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(0)},
		},
	}
	for i := 1; i <= n; i++ {
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

// Habit: one `http.Client` (with a timeout) built once and used for every request: the
// advice "reuse your http.Client". Its Transport's pool keeps the connection alive between
// requests, and holds it until the program exits.
// Usage: go build -o go_shared_client go_shared_client.go && ./go_shared_client [N=50]
// (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE, which crypto/x509 reads on Linux)
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	const name = "go_shared_client"
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
	client := &http.Client{Timeout: 30 * time.Second}
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

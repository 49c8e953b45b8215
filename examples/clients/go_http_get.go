// Habit: `http.Get(url)` for every request: the package's DefaultClient and its
// DefaultTransport, whose pool keeps the connection alive between requests.
// Usage: go build -o go_http_get go_http_get.go && ./go_http_get [N=50]
// (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE, which crypto/x509 reads on Linux)
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

func main() {
	const name = "go_http_get"
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
		resp, err := http.Get(url)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: request %d failed: %v\n", name, i, err)
			os.Exit(1)
		}
		// Read the body to its end and close it, so the connection goes back to the pool.
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Fprintf(os.Stderr, "%s: request %d: HTTP %d %v\n", name, i, resp.StatusCode, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: %d requests ok\n", name, n)
}

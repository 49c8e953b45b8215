<?php
// Habit: one `curl_init()` handle reused for every request, closed at the end. The handle
// keeps its connection alive between requests: one shared TLS session.
// PHP's curl reads its CA bundle from the `curl.cainfo` ini setting, not from the
// environment: run it as
//   php -d curl.cainfo="$SSL_CERT_FILE" php_curl_reused.php [N=50]
// (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
$name = 'php_curl_reused';
$n = (int) ($argv[1] ?? 50);
$url = getenv('TLS_SESSION_COST_URL');
if ($url === false || $url === '') {
    fwrite(STDERR, "$name: TLS_SESSION_COST_URL is not set\n");
    exit(2);
}
$ch = curl_init($url);
curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
curl_setopt($ch, CURLOPT_TIMEOUT, 30);
for ($i = 1; $i <= $n; $i++) {
    $body = curl_exec($ch);
    if ($body === false) {
        fwrite(STDERR, "$name: request $i failed: " . curl_error($ch) . "\n");
        exit(1);
    }
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    if ($status !== 200) {
        fwrite(STDERR, "$name: request $i: HTTP $status\n");
        exit(1);
    }
}
curl_close($ch);
fwrite(STDERR, "$name: $n requests ok\n");

<?php
// Habit: `curl_init()` for every request, closed by `curl_close()`. Each handle has its own
// connection cache, so every request opens a new connection with a full handshake.
// PHP's curl reads its CA bundle from the `curl.cainfo` ini setting, not from the
// environment: run it as
//   php -d curl.cainfo="$SSL_CERT_FILE" php_curl_per_request.php [N=50]
// (URL in TLS_SESSION_COST_URL, CA in SSL_CERT_FILE)
$name = 'php_curl_per_request';
$n = (int) ($argv[1] ?? 50);
$url = getenv('TLS_SESSION_COST_URL');
if ($url === false || $url === '') {
    fwrite(STDERR, "$name: TLS_SESSION_COST_URL is not set\n");
    exit(2);
}
for ($i = 1; $i <= $n; $i++) {
    $ch = curl_init($url);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($ch, CURLOPT_TIMEOUT, 30);
    $body = curl_exec($ch);
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    $error = curl_error($ch);
    curl_close($ch);
    if ($body === false) {
        fwrite(STDERR, "$name: request $i failed: $error\n");
        exit(1);
    }
    if ($status !== 200) {
        fwrite(STDERR, "$name: request $i: HTTP $status\n");
        exit(1);
    }
}
fwrite(STDERR, "$name: $n requests ok\n");

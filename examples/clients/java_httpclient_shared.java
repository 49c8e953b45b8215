// Habit: one `HttpClient.newHttpClient()` for all requests (java.net.http, JDK 11+). Its pool
// keeps the connection alive between requests: one shared TLS session. JDK 17's HttpClient has
// no close(), so that connection is still open when the JVM exits.
// No trust code: `harness exec` passes its trust store in JAVA_TOOL_OPTIONS.
// Usage: java java_httpclient_shared.java [N=50]   (URL in TLS_SESSION_COST_URL; JDK 11+ runs
// a single source file as it is)
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

class JavaHttpClientShared {
    public static void main(String[] args) throws InterruptedException {
        String name = "java_httpclient_shared";
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        String url = System.getenv("TLS_SESSION_COST_URL");
        if (url == null || url.isEmpty()) {
            System.err.println(name + ": TLS_SESSION_COST_URL is not set");
            System.exit(2);
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build();
        HttpClient client = HttpClient.newHttpClient();
        for (int i = 1; i <= n; i++) {
            HttpResponse<String> response;
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                System.err.println(name + ": request " + i + " failed: " + e);
                System.exit(1);
                return;
            }
            if (response.statusCode() != 200) {
                System.err.println(name + ": request " + i + ": HTTP " + response.statusCode());
                System.exit(1);
            }
        }
        System.err.println(name + ": " + n + " requests ok");
    }
}

/**
 * Fallback load generator for bench/http.bench.ts when `wrk` is not installed: runs autocannon
 * once with the options given as one JSON argument and prints one JSON line with the numbers
 * the bench needs. It runs in its own process (pinned by the caller), never inside the bench.
 */
import autocannon from 'autocannon';

const { url, connections, seconds, headers } = JSON.parse(process.argv[2] ?? '{}');
const result = await autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    seconds: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  })}\n`,
);

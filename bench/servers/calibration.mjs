/**
 * Calibration, not a peer: plain `node:http`, no framework, no session. `GET /healthz` answers
 * at once (the bare route); `GET /spin` busy-waits BENCH_SPIN_US (default 25) µs of CPU first,
 * then sends the same bytes. Its "session cost" in the bench is what 25 µs of pure extra work
 * per request measures as under this method: on loopback the server's CPU also pays the
 * kernel's delivery of each response to the load generator, and that costs more per response
 * when the server is slower (the client sleeps between responses and is woken for each one),
 * so any route's difference from a bare route comes out larger than the work it added.
 * Started by bench/http.bench.ts.
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const spinNs = BigInt(Math.round(Number(process.env.BENCH_SPIN_US ?? 25) * 1000));
const body = '{"status":"ok"}';
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

createServer((req, res) => {
  if (req.url === '/spin') {
    const end = process.hrtime.bigint() + spinNs;
    while (process.hrtime.bigint() < end) {
      // CPU work standing in for a session check: nothing to optimise away.
    }
  } else if (req.url !== '/healthz') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
}).listen(port, '127.0.0.1');

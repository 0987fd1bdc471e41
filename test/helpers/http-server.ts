// A static file server on 127.0.0.1 (port 0) for the remote-source tests and bench: serves a
// folder with byte ranges and an ETag (size and mtime, as common servers make it), counts requests
// by path and logs their ranges, and misbehaves on demand: 503s, bodies cut short, a Content-Length
// that lies, or no answer at all (stopped, then started again). `memory: true` keeps each file in
// memory after its first request (the bench: the server's own reads then cost nothing);
// `ranges: false` ignores Range headers, as some servers do.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';

export type Fault =
  /** answer 503 */
  | 'unavailable'
  /** promise the whole body, send half, close the connection */
  | 'truncate'
  /** say the body is longer than it is, send it all, close */
  | 'wrong-length';

export interface TestServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  port: number;
  /** Requests received, by URL path (faulty answers included). */
  requests: Map<string, number>;
  /** Every request in order: its path and Range header (null for none). */
  log: Array<{ path: string; range: string | null }>;
  totalRequests(): number;
  /** The next `times` requests whose path matches get `fault` (Infinity: until cleared). */
  inject(fault: Fault, times: number, match?: RegExp): void;
  clearFaults(): void;
  /** Stops listening (connections are dropped): requests fail with ECONNREFUSED. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ServeOptions {
  memory?: boolean;
  ranges?: boolean;
}

export async function serveFolder(root: string, options: ServeOptions = {}): Promise<TestServer> {
  const requests = new Map<string, number>();
  const log: Array<{ path: string; range: string | null }> = [];
  const held = new Map<string, { body: Buffer; etag: string }>();
  let faults: Array<{ fault: Fault; left: number; match: RegExp }> = [];
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.set(path, (requests.get(path) ?? 0) + 1);
    log.push({ path, range: req.headers.range ?? null });
    const f = faults.find((x) => x.left > 0 && x.match.test(path));
    if (f) f.left--;
    if (f?.fault === 'unavailable') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      return;
    }
    const file = join(root, normalize(path).replace(/^(\.\.(\/|\\|$))+/, ''));
    let body: Buffer;
    let etag: string;
    const kept = held.get(file);
    if (kept) ({ body, etag } = kept);
    else {
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        body = await readFile(file);
        etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
        if (options.memory) held.set(file, { body, etag });
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
    }
    let status = 200;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      etag,
      ...(options.ranges === false ? {} : { 'accept-ranges': 'bytes' }),
    };
    const range = options.ranges === false ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && Number(range[1]) >= body.length) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
      body = body.subarray(start, end + 1);
      status = 206;
    }
    if (f?.fault === 'truncate') {
      res.writeHead(status, { ...headers, 'content-length': String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (f?.fault === 'wrong-length') {
      res.writeHead(status, { ...headers, 'content-length': String(body.length + 100) });
      res.write(body);
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
  };

  let server: Server = makeServer();
  function makeServer(): Server {
    const s = createServer((req, res) => {
      handle(req, res).catch(() => res.destroy());
    });
    s.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    return s;
  }
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  const port = await listen(0);
  const shut = (): Promise<void> =>
    new Promise((resolve) => {
      for (const c of sockets) c.destroy();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    log,
    totalRequests: () => [...requests.values()].reduce((a, b) => a + b, 0),
    inject(fault, times, match = /./) {
      faults.push({ fault, left: times, match });
    },
    clearFaults() {
      faults = [];
    },
    stop: shut,
    async start() {
      server = makeServer();
      await listen(port);
    },
    close: shut,
  };
}

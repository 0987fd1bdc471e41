// The HTTP transport under fetchBytes: it must leave the process's typed-array code fast (the
// global fetch's web streams detach ArrayBuffers, which invalidates V8's "ArrayBuffer detaching"
// protector for the whole process: a build worker's pixel loops then ran about 1.5× slower), keep
// connections open between requests, follow redirects, and tell a server's errors apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/data.js';
import { configureFetch, DEFAULT_FETCH, fetchBytes, FetchError } from '../../src/sources/fetch/http.js';

const run = promisify(execFile);
let server: Server;
let url = '';
const connections: number[] = [];
const body = Buffer.alloc(300_000, 7);

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/old') {
      res.writeHead(302, { location: '/data' }).end();
      return;
    }
    if (req.url === '/gone') {
      res.writeHead(410).end('gone');
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  server.on('connection', () => connections.push(Date.now()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  configureFetch(DEFAULT_FETCH);
});

test('reading over HTTP does not invalidate V8’s ArrayBuffer-detaching protector', async () => {
  const http = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'sources', 'fetch', 'http.js')).href;
  const script = `const { fetchBytes } = await import(${JSON.stringify(http)});
    const b = await fetchBytes(${JSON.stringify(`${url}/data`)});
    const r = await fetchBytes(${JSON.stringify(`${url}/data`)}, { range: { offset: 10, length: 100 } });
    console.log('read', b.length, r.length);`;
  const { stdout } = await run(process.execPath, [
    '--trace-protector-invalidation',
    '--input-type=module',
    '-e',
    script,
  ]);
  assert.match(stdout, /read 300000 100/);
  assert.doesNotMatch(stdout, /ArrayBufferDetaching/);
});

test('connections are kept open between requests; redirects are followed; a 410 fails at once', async () => {
  configureFetch({ ...DEFAULT_FETCH, backoffMs: 5 });
  connections.length = 0;
  for (let i = 0; i < 5; i++) assert.equal((await fetchBytes(`${url}/data`))?.length, body.length);
  assert.equal(connections.length, 1, 'one connection for five requests');
  assert.deepEqual(await fetchBytes(`${url}/old`), new Uint8Array(body));
  await assert.rejects(fetchBytes(`${url}/gone`), (e: unknown) => {
    assert.ok(e instanceof FetchError);
    assert.equal(e.reason, 'fetch-failed: HTTP 410');
    return true;
  });
});

test('a cache folder that cannot be made is given up with one line on stderr; the bytes are still read', async () => {
  configureFetch({ ...DEFAULT_FETCH, cacheDir: '/dev/null/cache' });
  const said: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    said.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal((await fetchBytes(`${url}/data`))?.length, body.length);
    assert.equal((await fetchBytes(`${url}/data`))?.length, body.length);
  } finally {
    process.stderr.write = write;
    configureFetch(DEFAULT_FETCH);
  }
  assert.equal(said.length, 1);
  assert.match(said[0], /the cache folder \/dev\/null\/cache cannot be used here .*; reading without it/);
});

// The pure parts of a distributed build's set-up: Redis URLs (checked, and never logged with their
// password) and --path-map (a machine that mounts the shared storage elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOptionsSchema, workerOptionsSchema } from '../../src/release/options.js';
import { checkQueueUrl, PathMap, queueConnection, redactQueueUrl } from '../../src/release/queue-link.js';
import { UserError } from '../../src/util/errors.js';

test('Redis URLs: redis:// and rediss:// (TLS) with or without a password are accepted; anything else is a UserError that does not repeat the password', () => {
  for (const u of ['redis://127.0.0.1:6379', 'redis://:s3cret@host:6379/2', 'rediss://user:s3cret@host:6380'])
    assert.doesNotThrow(() => checkQueueUrl(u));
  assert.deepEqual(queueConnection('rediss://:s3cret@host:6380'), {
    url: 'rediss://:s3cret@host:6380',
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
  });
  for (const u of ['http://:s3cret@host:6379', 'host:6379', '//:s3cret@host']) {
    assert.throws(
      () => checkQueueUrl(u),
      (e: unknown) => e instanceof UserError && /--queue must be/.test(e.message) && !e.message.includes('s3cret'),
    );
  }
  const r = buildOptionsSchema.safeParse({ catalog: 'c', labels: 'l', out: 'o', queue: 'http://:s3cret@h:1' });
  assert.ok(!r.success && !JSON.stringify(r.error.issues).includes('s3cret'));
  assert.equal(
    buildOptionsSchema.parse({ catalog: 'c', labels: 'l', out: 'o', queue: 'redis://h:1' }).shardSize,
    64,
    'the default shard size',
  );
});

test('redactQueueUrl hides the password and keeps the rest', () => {
  assert.equal(redactQueueUrl('redis://:s3cret@10.0.0.5:6379'), 'redis://:***@10.0.0.5:6379');
  assert.equal(redactQueueUrl('rediss://bob:s3cret@host:6380/1'), 'rediss://bob:***@host:6380/1');
  assert.equal(redactQueueUrl('redis://host:6379'), 'redis://host:6379');
  assert.ok(!redactQueueUrl('not a url //u:s3cret@x').includes('s3cret'));
});

test('--path-map: the longest FROM wins, only at folder boundaries, and details map back', () => {
  const m = PathMap.parse(['/mnt/lab=/data/lab', '/mnt/lab/big=/big/', '/mnt/l=/x']);
  assert.equal(m.local('/mnt/lab/a/b.tif'), '/data/lab/a/b.tif');
  assert.equal(m.local('/mnt/lab/big/c.tif'), '/big/c.tif');
  assert.equal(m.local('/mnt/laboratory/c.tif'), '/mnt/laboratory/c.tif');
  assert.equal(m.local('/elsewhere/c.tif'), '/elsewhere/c.tif');
  assert.equal(m.shared('/data/lab/a/b.tif: file not found'), '/mnt/lab/a/b.tif: file not found');
  assert.ok(PathMap.parse([]).empty);
  assert.throws(() => PathMap.parse(['relative=/x']), UserError);
  assert.throws(() => PathMap.parse(['/x']), UserError);
  assert.deepEqual(workerOptionsSchema.parse({ queue: 'redis://h:1', pathMap: '/a=/b', concurrency: '2' }), {
    queue: 'redis://h:1',
    concurrency: 2,
    pathMap: ['/a=/b'],
  });
});

test('--path-map: details map back only where a path starts', () => {
  const m = PathMap.parse(['/mnt/lab=/x']);
  assert.equal(
    m.shared('/x/a.tif | /x/b.tif: too-large: /x/b.tif'),
    '/mnt/lab/a.tif | /mnt/lab/b.tif: too-large: /mnt/lab/b.tif',
  );
  assert.equal(m.shared('/other/x/a.tif: file not found'), '/other/x/a.tif: file not found');
});

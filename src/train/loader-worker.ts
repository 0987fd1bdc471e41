// Entry point of one training-loader thread (see loader-pool.ts): decodes, resizes, rotates and
// packs the images it is sent straight into the batch's shared memory, so the main thread only
// hands out work while the engine steps.
import { parentPort } from 'node:worker_threads';
import { UserError } from '../util/errors.js';
import { packImage } from './pipeline.js';
import type { FromLoader, ToLoader } from './loader-protocol.js';

const port = parentPort;
if (!port) throw new Error('loader-worker.js runs as a worker thread');

port.on('message', (msg: ToLoader) => {
  if (msg.type === 'stop') {
    port.close();
    return;
  }
  const x = new Float32Array(msg.x);
  packImage(x, msg.slot, msg.file, msg.size, msg.angle).then(
    () => port.postMessage({ type: 'done', id: msg.id } satisfies FromLoader),
    (e: unknown) => {
      const file = e instanceof UserError ? e.location.file : undefined;
      port.postMessage({ type: 'failed', id: msg.id, message: (e as Error).message, file } satisfies FromLoader);
    },
  );
});

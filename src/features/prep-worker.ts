// Entry point of the preprocessing worker thread (see prep-client.ts): decodes, normalises and
// packs each chunk it is sent, and answers with the tensors, in shared memory rather than copied.
// The main thread blocks inside session.run, so this is the only way the JavaScript part of
// preprocessing (PNG decoding, percentiles, normalisation, packing) overlaps inference.
import { parentPort } from 'node:worker_threads';
import { prepareChunk, toWire, TensorBuffers } from './chunk-prep.js';
import type { FromPrepWorker, ToPrepWorker, WirePreparedItem } from './prep-protocol.js';

const port = parentPort;
if (!port) throw new Error('prep-worker.js runs as a worker thread');

const buffers = new TensorBuffers(true);

port.on('message', (msg: ToPrepWorker) => {
  if (msg.type === 'stop') {
    port.close();
    return;
  }
  for (const b of msg.buffers) buffers.give(b);
  prepareChunk(msg.sets, msg.config, buffers).then(
    (items) => {
      // the tensors live in SharedArrayBuffers: posting shares them, nothing is copied or detached
      const wire: WirePreparedItem[] = items.map((it) =>
        it.kind === 'error' ? { kind: 'error', index: it.index, error: toWire(it.error) } : it,
      );
      port.postMessage({ type: 'prepared', id: msg.id, items: wire } satisfies FromPrepWorker);
    },
    (e: unknown) => port.postMessage({ type: 'failed', id: msg.id, error: toWire(e) } satisfies FromPrepWorker),
  );
});

// modules loaded (sharp, the imaging library): the client's ready() resolves
port.postMessage({ type: 'ready', id: -1 } satisfies FromPrepWorker);

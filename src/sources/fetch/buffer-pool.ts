// Whole-file buffers reused from one remote read to the next (ranged-file.ts), in processes that
// ask for it: a build worker reads file after file of about one size, and a fresh multi-megabyte
// buffer per file costs its page faults and garbage collections again each time (they showed in a
// build's time, beside the pixel work). Off by default: a buffer may be reused only once nothing
// can still read it, which a build worker guarantees (its libvips keeps no cache of operations,
// so no decoded image or cached load refers to an input buffer after its decode) and a process
// with sharp's cache on does not.
let enabled = false;
const free: ArrayBuffer[] = [];
/** Buffers kept for reuse (a worker has a few files in flight: its decode-ahead, the channels of a set). */
const KEEP = 6;
/** Larger buffers are not kept. */
const MAX_KEPT_BYTES = 256 * 1024 * 1024;

/** Turns reuse on or off for this process (off empties the pool). */
export function reuseFileBuffers(on: boolean): void {
  enabled = on;
  if (!on) free.length = 0;
}

/** A buffer of `size` bytes, not zeroed: one given back earlier when one fits, else a new one. */
export function takeBuffer(size: number): Uint8Array {
  if (enabled) {
    let best = -1;
    for (let i = 0; i < free.length; i++)
      if (free[i].byteLength >= size && (best < 0 || free[i].byteLength < free[best].byteLength)) best = i;
    // a much larger buffer is left for a file of its size
    if (best >= 0 && free[best].byteLength <= size * 2) return new Uint8Array(free.splice(best, 1)[0], 0, size);
  }
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

/** Gives a buffer from takeBuffer back, once nothing reads it any more. */
export function giveBuffer(b: Uint8Array): void {
  if (!enabled || b.byteOffset !== 0 || b.buffer.byteLength > MAX_KEPT_BYTES) return;
  const ab = b.buffer as ArrayBuffer;
  if (free.includes(ab)) return;
  free.push(ab);
  if (free.length > KEEP) free.shift();
}

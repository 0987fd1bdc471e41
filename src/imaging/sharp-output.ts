// How sharp hands back what libvips wrote (decoded pixels, PNG bytes). sharp 0.35.5's
// toUint8Array() copies libvips's output into a new ArrayBuffer and never frees the original (its
// free callback is called with its arguments swapped, so it frees nothing): a process leaks every
// output, about one decoded image per decode. toBuffer() hands libvips's buffer over as an external
// Buffer that is freed when collected. toUint8Array was chosen for speed (docs/imaging.md, "V8's
// ArrayBufferDetaching protector"), so only a process that is replaced once it grows may use it:
// the build's workers (src/release/worker.ts, BUILD.workerRetireMb) opt in with
// useTypedArrayOutputs(). Every other process (features, report, standardize, the demo) gets
// Buffers, so its memory stays flat however many images it reads.
import type { OutputInfo, Sharp } from 'sharp';

let typedArrays = false;

/** For a process replaced once its memory passes a limit: toUint8Array from now on (leaks; see above). */
export function useTypedArrayOutputs(): void {
  typedArrays = true;
}

/** The pipeline's output and its info: a Buffer (freed when collected) unless useTypedArrayOutputs() was called. */
export function sharpOutput(pipe: Sharp): Promise<{ data: Uint8Array; info: OutputInfo }> {
  return typedArrays ? pipe.toUint8Array() : pipe.toBuffer({ resolveWithObject: true });
}

// Channel merge: the arithmetic mean of the normalised channels.
import { ImageError } from './image-error.js';
import type { NormalizedImage } from './types.js';

export function mergeChannels(channels: readonly NormalizedImage[], names: readonly string[] = []): Float64Array {
  if (channels.length === 0) throw new RangeError('mergeChannels: no channels');
  const { width, height } = channels[0];
  channels.forEach((c, i) => {
    if (c.width !== width || c.height !== height) {
      throw new ImageError(
        names[i] ?? `channel ${i}`,
        'mismatch',
        `is ${c.width}×${c.height} but the first channel is ${width}×${height}`,
      );
    }
  });
  if (channels.length === 1) return channels[0].data.slice();
  const n = width * height;
  const out = new Float64Array(n);
  for (const c of channels) {
    const d = c.data;
    for (let i = 0; i < n; i++) out[i] += d[i];
  }
  const k = channels.length;
  for (let i = 0; i < n; i++) out[i] /= k;
  return out;
}

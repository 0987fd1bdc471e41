// Shared test fixtures for the features stage: a tiny ONNX model whose features can be worked out
// by hand, and small gray images.
import sharp from 'sharp';
import { GraphBuilder, encodeModel, intsAttr, intAttr, valueInfo } from '../../src/model/onnx-builder.js';

/**
 * 1×1 conv → ReLU → global average pool. f0 = mean(relu(x̄)), f1 = mean(relu(100 − x̄)), x̄ the mean
 * of the 3 input channels (identical gray copies, so x̄ = the gray value).
 */
export function tinyModel(layout: 'NCHW' | 'NHWC'): Uint8Array {
  const g = new GraphBuilder();
  const third = 1 / 3;
  const W = g.constFloat('W', [2, 3, 1, 1], [third, third, third, -third, -third, -third]);
  const B = g.constFloat('B', [2], [0, 100]);
  const x = layout === 'NCHW' ? 'pixels' : g.node('Transpose', ['pixels'], 'nchw', [intsAttr('perm', [0, 3, 1, 2])]);
  const c = g.node('Conv', [x, W, B], 'conv', [intsAttr('kernel_shape', [1, 1])]);
  const r = g.node('Relu', [c], 'relu');
  const p = g.node('GlobalAveragePool', [r], 'gap');
  g.node('Flatten', [p], 'embedding', [intAttr('axis', 1)]);
  const dims = layout === 'NCHW' ? ['N', 3, 'H', 'W'] : ['N', 'H', 'W', 3];
  return encodeModel(g, [valueInfo('pixels', dims)], [valueInfo('embedding', ['N', 2])], 'tiny');
}

/** A 4×4 8-bit gray image from 16 values (row-major); the format follows the extension (.png, .tif). */
export async function grayImage(path: string, values: readonly number[], side = 4): Promise<void> {
  await sharp(Buffer.from(values), { raw: { width: side, height: side, channels: 1 } }).toFile(path);
}

/** A constant 4×4 image: under the tiny model raw features are [v, max(0, 100 − v)]. */
export async function constantImage(path: string, v: number): Promise<void> {
  await grayImage(path, new Array(16).fill(v));
}

/** Minimal RFC 4180 CSV reader for checking outputs. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trim().split('\n');
  const split = (l: string): string[] => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i];
      if (q) {
        if (ch === '"' && l[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') q = false;
        else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') {
        out.push(cur);
        cur = '';
      } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  return { header: split(lines[0]), rows: lines.slice(1).map(split) };
}

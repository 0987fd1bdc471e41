// Per-file expectations for the shared images, read from shared/data/SOURCES.md (measured there
// with tifffile and Pillow, i.e. by decoders independent of ours).
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers/data.js';

export interface ExpectedImage {
  path: string; // relative to shared/data
  kind: 'TIFF' | 'PNG' | 'JPEG';
  width: number;
  height: number;
  pages: number;
  channels: number;
  bitDepth: number;
  float: boolean;
  palette: boolean;
  min: number;
  max: number;
}

const NUM = '([0-9.]+(?:e-?\\d+)?)';
const TIFF = new RegExp(
  `TIFF, (\\d+) page\\(s\\), (\\d+)x(\\d+) px, (uint8|uint16|float32) \\((\\d+)-bit x (\\d+) sample/px, photometric=(\\w+)[^)]*\\), value range ${NUM}-${NUM}`,
);
const OTHER = new RegExp(
  `(PNG|JPEG), mode (\\w+), (\\d+)x(\\d+) px, (\\d+) channel\\(s\\), (\\d+)-bit[^|]*?value range ${NUM}-${NUM}`,
);

export function expectedImages(): ExpectedImage[] {
  const text = readFileSync(sharedPath('SOURCES.md'), 'utf8');
  const out: ExpectedImage[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `(images\/[^`*]+)` \|/.exec(line);
    if (!m) continue;
    const t = TIFF.exec(line);
    if (t) {
      out.push({
        path: m[1],
        kind: 'TIFF',
        pages: +t[1],
        width: +t[2],
        height: +t[3],
        bitDepth: +t[5],
        channels: +t[6],
        float: t[4] === 'float32',
        palette: t[7] === 'PALETTE',
        min: +t[8],
        max: +t[9],
      });
      continue;
    }
    const o = OTHER.exec(line);
    if (o) {
      out.push({
        path: m[1],
        kind: o[1] as 'PNG' | 'JPEG',
        pages: 1,
        width: +o[3],
        height: +o[4],
        channels: +o[5],
        bitDepth: +o[6],
        float: false,
        palette: o[2] === 'P',
        min: +o[7],
        max: +o[8],
      });
    }
  }
  return out;
}

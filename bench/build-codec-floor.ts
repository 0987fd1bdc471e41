// Child of bench/build-release.ts: the bare codec floor for its share of image sets — decode the 3
// 16-bit TIFFs of each set with libvips, encode one 8-bit PNG (channel 1, linearly stretched), and
// nothing else (no normalisation, QC, crops, journal or writes). Sets come as JSON in BENCH_SETS.
import sharp from 'sharp';
import { IMAGING } from '../src/defaults.js';

sharp.concurrency(1);
sharp.cache(false);

const raw = process.env.BENCH_SETS;
if (raw) {
  const sets = JSON.parse(raw) as string[][];
  for (const files of sets) {
    // Gray 16-bit data must pass through grey16, or libvips returns 3-channel sRGB (more work, other
    // values); toUint8Array, not toBuffer, as the library does.
    const decoded = await Promise.all(
      files.map((f) => sharp(f).toColourspace('grey16').raw({ depth: 'ushort' }).toUint8Array()),
    );
    const { data, info } = decoded[0];
    const px = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    // A linear min–max stretch of channel 1, so the PNG holds full-range content like a release
    // image and costs the encoder as much.
    let lo = 65535;
    let hi = 0;
    for (let i = 0; i < px.length; i++) {
      const v = px[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const out = new Uint8Array(px.length);
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < px.length; i++) out[i] = (px[i] - lo) * scale;
    await sharp(out, { raw: { width: info.width, height: info.height, channels: 1 } })
      .png({ compressionLevel: IMAGING.pngCompression, palette: false })
      .toBuffer();
  }
}

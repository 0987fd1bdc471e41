import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, toGray, normalize } from '../../src/imaging/index.js';
import { normalisedPlane, planesForSet } from '../../src/features/preprocess.js';
import { sharedPath } from '../helpers/data.js';

// 16-bit fluorescence (12-bit data), 8-bit palette TIFF, RGB JPEG
const FILES = [
  'images/cellprofiler_examples/ExampleSpeckles/images/1-162hrhoe2.tif',
  'images/cellprofiler_examples/ExampleVitraImages/images/Channel 1-01-A-01-00.tif',
  'images/cellprofiler_examples/ExampleTumor/images/30-2A1f.jpg',
];

test('normalised planes are exactly the imaging library’s normalize() · 255 on real images', async () => {
  for (const f of FILES) {
    const gray = toGray(await decodeImage(sharedPath(f)));
    const ref = normalize(gray).data;
    const got = normalisedPlane(gray).data;
    assert.equal(got.length, ref.length);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - Math.fround(ref[i] * 255)));
    assert.ok(worst <= 1e-4, `${f}: ${worst}`);
    assert.ok(got.some((v) => v === 255) && got.some((v) => v === 0), `${f}: stretched to the full 0–255 range`);
  }
});

test('merge-norm of a 3-channel set is the mean of the normalised channels; concat keeps them apart', async () => {
  const files = ['d0', 'd1', 'd2'].map((d) =>
    sharedPath(`images/cellprofiler_examples/ExampleHuman/images/AS_09125_050116030001_D03f00${d}.tif`),
  );
  const each = await Promise.all(files.map(async (f) => normalize(toGray(await decodeImage(f))).data));
  const [merged] = await planesForSet(files, 'merge-norm');
  for (let i = 0; i < merged.data.length; i += 997) {
    const want = ((each[0][i] + each[1][i] + each[2][i]) / 3) * 255;
    assert.ok(Math.abs(merged.data[i] - want) < 1e-3);
  }
  const concat = await planesForSet(files, 'concat-norm');
  assert.equal(concat.length, 3);
  assert.ok(Math.abs(concat[2].data[12345] - each[2][12345] * 255) < 1e-3);
});

// OME-TIFF writers may store planes out of DimensionOrder, or across several files, and say so
// with TiffData elements: the #c= #z= #t= selectors must follow them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage, ImageError } from '../../src/imaging/index.js';
import { withTempDir } from '../helpers/data.js';
import { writeTiffPages } from './tiff-writer.js';

const W = 64;
const H = 48;
/** Six pages, each filled with its own page number (so a decoded page names itself). */
const PAGES = Array.from({ length: 6 }, (_, p) => new Uint8Array(W * H).fill(10 + p));

function omeXml(tiffData: string, root = ''): string {
  return (
    `<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"${root}><Image ID="Image:0">` +
    `<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="${W}" SizeY="${H}" SizeC="2" SizeZ="3" SizeT="1">` +
    `<Channel ID="Channel:0:0" Name="DNA"/><Channel ID="Channel:0:1" Name="Actin"/>${tiffData}</Pixels></Image></OME>`
  );
}

/** The page the selectors read (each page's pixels are 10 + its number). */
async function pageOf(path: string, selectors: string): Promise<number> {
  const img = await decodeImage(`${path}${selectors}`);
  return img.data[0] - 10;
}

test('OME-TIFF TiffData: planes stored in reverse order are found where the blocks say', async () => {
  await withTempDir(async (dir) => {
    // plane k (XYZCT: z + 3·c) is page 5 − k
    const blocks = Array.from(
      { length: 6 },
      (_, k) => `<TiffData IFD="${5 - k}" FirstZ="${k % 3}" FirstC="${Math.floor(k / 3)}" PlaneCount="1"/>`,
    ).join('');
    const path = join(dir, 'reversed.ome.tif');
    await writeFile(path, writeTiffPages(PAGES, W, H, omeXml(blocks)));
    assert.equal(await pageOf(path, '#c=0&z=0'), 5);
    assert.equal(await pageOf(path, '#c=1&z=1'), 1);
    assert.equal(await pageOf(path, '#c=1&z=2'), 0);
    // one block for all planes (the usual writer output) is the plain order
    const plain = join(dir, 'plain.ome.tif');
    await writeFile(plain, writeTiffPages(PAGES, W, H, omeXml('<TiffData/>')));
    assert.equal(await pageOf(plain, '#c=1&z=1'), 4);
    // a block that starts part-way: planes from c=1, z=0 on are pages 0, 1, 2
    const split = join(dir, 'split.ome.tif');
    await writeFile(
      split,
      writeTiffPages(
        PAGES,
        W,
        H,
        omeXml('<TiffData FirstC="1" IFD="0" PlaneCount="3"/><TiffData IFD="3" PlaneCount="3"/>'),
      ),
    );
    assert.equal(await pageOf(split, '#c=1&z=2'), 2);
    assert.equal(await pageOf(split, '#c=0&z=1'), 4);
  });
});

test('OME-TIFF TiffData: planes in another file of the dataset are named; this file is known by UUID or name', async () => {
  await withTempDir(async (dir) => {
    const own = 'urn:uuid:1111';
    const blocks =
      `<TiffData FirstC="0" PlaneCount="3"><UUID FileName="part-a.ome.tif">${own}</UUID></TiffData>` +
      '<TiffData FirstC="1" PlaneCount="3"><UUID FileName="part-b.ome.tif">urn:uuid:2222</UUID></TiffData>';
    const path = join(dir, 'part-a.ome.tif');
    await writeFile(path, writeTiffPages(PAGES.slice(0, 3), W, H, omeXml(blocks, ` UUID="${own}"`)));
    assert.equal(await pageOf(path, '#c=0&z=2'), 2);
    const e = await decodeImage(`${path}#c=1&z=0`).catch((err: unknown) => err);
    assert.ok(e instanceof ImageError, String(e));
    assert.equal(e.kind, 'bad-page');
    assert.match(e.reason, /stored in part-b\.ome\.tif, another file/);
    // the same blocks, this file named only by its file name (no UUID on the root)
    const byName = join(dir, 'part-b.ome.tif');
    await writeFile(byName, writeTiffPages(PAGES.slice(3), W, H, omeXml(blocks)));
    const e2 = await decodeImage(`${byName}#c=1&z=1`).catch((err: unknown) => err);
    assert.ok(!(e2 instanceof Error), String(e2));
    assert.equal((e2 as { data: Uint8Array }).data[0], 10 + 4);
    // a plane no block lists
    const gap = join(dir, 'gap.ome.tif');
    await writeFile(gap, writeTiffPages(PAGES, W, H, omeXml('<TiffData IFD="0" PlaneCount="2"/>')));
    const e3 = await decodeImage(`${gap}#c=1&z=0`).catch((err: unknown) => err);
    assert.ok(e3 instanceof ImageError && /none of the OME-XML's TiffData blocks/.test(e3.reason), String(e3));
  });
});

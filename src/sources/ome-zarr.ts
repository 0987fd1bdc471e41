// OME-Zarr images (NGFF 0.4 on Zarr v2, NGFF 0.5 on Zarr v3), local or over HTTP(S), read with
// zarrita. An image group's metadata gives its axes, resolution levels and channel names
// (omero.channels[].label); readPlane reads one 2-D plane at full bit depth, fetching only the
// chunks that plane needs (plus the group's attributes and the level's array metadata, once per
// process). Entry syntax and selectors: src/sources/fetch/entry.ts.
import { readFile } from 'node:fs/promises';
import * as zarr from 'zarrita';
import { parseEntry, type ParsedEntry } from './fetch/entry.js';
import { fetchBytes } from './fetch/http.js';

/** A zarrita store over a local folder or a URL prefix; counts its requests (bench, tests). */
export class EntryStore {
  requests = 0;
  constructor(
    readonly base: string,
    readonly remote: boolean,
  ) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    this.requests++;
    const at = `${this.base}${key}`;
    if (this.remote) return fetchBytes(at, { allowMissing: true });
    try {
      const b = await readFile(at);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  }
}

export class OmeZarrError extends Error {
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`${entry}: ${reason}`);
    this.name = 'OmeZarrError';
  }
}

export interface OmeAxis {
  name: string;
  type: string;
}

export interface OmeImage {
  /** The image group's location (no fragment). */
  location: string;
  store: EntryStore;
  zarrVersion: 2 | 3;
  axes: OmeAxis[];
  /** Array paths of the resolution levels, level 0 (full resolution) first. */
  levels: string[];
  /** Channel names in axis order: omero.channels[].label, else c0, c1, … */
  channels: string[];
  /** Whether every name came from an omero label (not a c0, c1, … stand-in). */
  labelled: boolean;
  /** Shape of level 0. */
  shape: number[];
  dtype: string;
}

type Json = Record<string, unknown>;

function parseJson(bytes: Uint8Array, what: string, entry: string): Json {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Json;
  } catch (e) {
    throw new OmeZarrError(entry, `${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** The group's attributes and Zarr version (v2 .zattrs first, then v3 zarr.json). */
export async function groupAttributes(store: EntryStore, entry: string): Promise<{ attrs: Json; version: 2 | 3 }> {
  const v2 = await store.get('/.zattrs');
  if (v2 !== undefined) return { attrs: parseJson(v2, '.zattrs', entry), version: 2 };
  const v3 = await store.get('/zarr.json');
  if (v3 !== undefined) {
    const meta = parseJson(v3, 'zarr.json', entry);
    const attrs = (meta.attributes ?? {}) as Json;
    // NGFF 0.5 keeps its keys under attributes.ome
    return { attrs: (attrs.ome as Json | undefined) ?? attrs, version: 3 };
  }
  throw new OmeZarrError(entry, 'not an OME-Zarr group (no .zattrs or zarr.json there)');
}

function storeFor(p: ParsedEntry): EntryStore {
  return new EntryStore(p.resolved, p.remote);
}

// Opened images and arrays by location, so expanding an entry into channels and reading each
// channel fetch the metadata once. Bounded: a build visits each image once, in order.
const opened = new Map<string, Promise<OmeImage>>();
const arrays = new Map<string, Promise<zarr.Array<zarr.DataType, EntryStore>>>();
const MAX_OPEN = 256;

function remember<T>(map: Map<string, T>, key: string, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
    if (map.size > MAX_OPEN) map.delete(map.keys().next().value as string);
  }
  return v;
}

/** Forgets opened images (tests that change a store or server between reads). */
export function forgetOpenedImages(): void {
  opened.clear();
  arrays.clear();
}

/** Opens the image group an entry names (selectors are ignored here). */
export function openImage(entry: string): Promise<OmeImage> {
  const p = parseEntry(entry);
  const key = p.resolved;
  const pending = remember(opened, key, () => openUncached(p));
  pending.catch(() => opened.delete(key)); // a failure (server down) is not remembered
  return pending;
}

async function openUncached(p: ParsedEntry): Promise<OmeImage> {
  const store = storeFor(p);
  const { attrs, version } = await groupAttributes(store, p.location);
  const ms = (attrs.multiscales as Json[] | undefined)?.[0];
  if (!ms) {
    if (attrs.plate)
      throw new OmeZarrError(p.location, 'is an HCS plate, not an image; read it with the ome-zarr-plate adapter');
    if (attrs.well) throw new OmeZarrError(p.location, 'is a well, not an image; name one of its fields, e.g. …/0');
    throw new OmeZarrError(p.location, 'has no multiscales metadata (not an OME-Zarr image)');
  }
  const datasets = (ms.datasets as Json[] | undefined) ?? [];
  if (datasets.length === 0) throw new OmeZarrError(p.location, 'multiscales lists no datasets');
  const levels = datasets.map((d) => String(d.path));
  const arr = await openArray(store, levels[0], version, p.location);
  const rawAxes = ms.axes as Array<Json | string> | undefined;
  // NGFF ≤ 0.3 had no axes (always t,c,z,y,x) or plain names
  const names = ['t', 'c', 'z', 'y', 'x'].slice(5 - arr.shape.length);
  const axes: OmeAxis[] = rawAxes
    ? rawAxes.map((a) =>
        typeof a === 'string'
          ? { name: a, type: axisType(a) }
          : { name: String(a.name), type: String(a.type ?? axisType(String(a.name))) },
      )
    : names.map((n) => ({ name: n, type: axisType(n) }));
  if (axes.length !== arr.shape.length)
    throw new OmeZarrError(p.location, `${axes.length} axes but level 0 has ${arr.shape.length} dimensions`);
  const cAxis = axes.findIndex((a) => a.type === 'channel');
  const nC = cAxis < 0 ? 1 : arr.shape[cAxis];
  const omero = attrs.omero as Json | undefined;
  const labels = ((omero?.channels as Json[] | undefined) ?? []).map((c) =>
    c.label === undefined || c.label === null ? '' : String(c.label),
  );
  const channels = Array.from({ length: nC }, (_, i) => (labels[i] ? labels[i] : `c${i}`));
  return {
    labelled: labels.length >= nC && labels.slice(0, nC).every((l) => l !== ''),
    location: p.location,
    store,
    zarrVersion: version,
    axes,
    levels,
    channels,
    shape: arr.shape,
    dtype: arr.dtype,
  };
}

function axisType(name: string): string {
  if (name === 'c') return 'channel';
  if (name === 't') return 'time';
  return 'space';
}

function openArray(
  store: EntryStore,
  path: string,
  version: 2 | 3,
  location: string,
): Promise<zarr.Array<zarr.DataType, EntryStore>> {
  const key = `${store.base}\u0000${path}`;
  const pending = remember(arrays, key, async () => {
    const loc = zarr.root(store).resolve(path);
    try {
      return version === 2
        ? await zarr.open.v2(loc, { kind: 'array', attrs: false })
        : await zarr.open.v3(loc, { kind: 'array' });
    } catch (e) {
      if (e instanceof zarr.NotFoundError) throw new OmeZarrError(location, `no array at '${path}'`);
      throw e;
    }
  });
  pending.catch(() => arrays.delete(key));
  return pending;
}

/** One plane of an image: width × height samples, row-major, at the stored data type. */
export interface Plane {
  width: number;
  height: number;
  dtype: string;
  data: Uint8Array | Uint16Array | Int8Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
  /** The channel read (its omero label) and its index. */
  channel: string;
  c: number;
}

/** The entry for each channel of an image: `entry#c=K` (other selectors kept). */
export async function channelEntries(entry: string): Promise<{ entries: string[]; names: string[] }> {
  const p = parseEntry(entry);
  const img = await openImage(entry);
  if (p.selectors.c !== undefined) {
    checkIndex(entry, 'c', p.selectors.c, img.channels.length);
    return { entries: [entry], names: [img.channels[p.selectors.c]] };
  }
  const hash = entry.indexOf('#');
  const rest = hash < 0 ? '' : entry.slice(hash + 1);
  const base = hash < 0 ? entry : entry.slice(0, hash);
  return {
    entries: img.channels.map((_, c) => `${base}#c=${c}${rest ? `&${rest.replaceAll('#', '&')}` : ''}`),
    names: img.channels,
  };
}

function checkIndex(entry: string, axis: string, k: number, n: number): void {
  if (k >= n) throw new OmeZarrError(entry, `${axis}=${k} is out of range: the image has ${n} (counting from 0)`);
}

/** Reads the plane an entry selects. A multi-channel image needs #c=K (see channelEntries). */
export async function readPlane(entry: string): Promise<Plane> {
  const p = parseEntry(entry);
  const img = await openImage(entry);
  const level = p.selectors.level ?? 0;
  checkIndex(entry, 'level', level, img.levels.length);
  const arr = await openArray(img.store, img.levels[level], img.zarrVersion, p.location);
  const sel: Array<number | null> = [];
  let zMax = -1;
  let c = 0;
  let yAxis = -1;
  let xAxis = -1;
  const space = img.axes.map((a, i) => ({ ...a, i })).filter((a) => a.type === 'space');
  if (space.length < 2) throw new OmeZarrError(entry, 'has fewer than 2 spatial axes');
  yAxis = space[space.length - 2].i;
  xAxis = space[space.length - 1].i;
  for (let i = 0; i < img.axes.length; i++) {
    const a = img.axes[i];
    const n = arr.shape[i];
    if (i === yAxis || i === xAxis) sel.push(null);
    else if (a.type === 'channel') {
      if (p.selectors.c === undefined && n > 1)
        throw new OmeZarrError(entry, `has ${n} channels; pick one with #c=K (0 to ${n - 1})`);
      c = p.selectors.c ?? 0;
      checkIndex(entry, 'c', c, n);
      sel.push(c);
    } else if (a.type === 'time') {
      const t = p.selectors.t ?? 0;
      checkIndex(entry, 't', t, n);
      sel.push(t);
    } else {
      // the remaining space axis is z
      const z = p.selectors.z;
      if (z === 'max') {
        zMax = sel.length;
        sel.push(null);
      } else {
        const k = z ?? Math.floor((n - 1) / 2);
        checkIndex(entry, 'z', k, n);
        sel.push(k);
      }
    }
  }
  const got = await zarr.get(arr, sel);
  const height = arr.shape[yAxis];
  const width = arr.shape[xAxis];
  let data = got.data as Plane['data'];
  if (!ArrayBuffer.isView(data)) throw new OmeZarrError(entry, `data type ${arr.dtype} is not a number type`);
  if (zMax >= 0) {
    // got is z × (y, x) with z first among the unselected axes; y and x keep their order
    const nz = got.shape[0];
    const plane = width * height;
    const out = (data as Plane['data']).slice(0, plane) as Plane['data'];
    for (let k = 1; k < nz; k++) {
      const off = k * plane;
      for (let i = 0; i < plane; i++) if (data[off + i] > out[i]) out[i] = data[off + i];
    }
    data = out;
  }
  if (yAxis > xAxis) throw new OmeZarrError(entry, 'x comes before y in the axes (unsupported)');
  return { width, height, dtype: arr.dtype, data, channel: img.channels[c] ?? `c${c}`, c };
}

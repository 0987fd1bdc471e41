// Keras 2 (legacy HDF5) weight files, read and written with h5wasm.
//
// Layout, as keras.saving.hdf5_format writes it:
//   weights-only (model.save_weights('x.h5'), Keras's *_notop.h5):
//     /                       attrs layer_names [S], backend, keras_version
//     /<layer>                attrs weight_names [S] ("<layer>/kernel:0", ...)
//     /<layer>/<layer>/kernel:0   the array
//   full model (model.save('x.h5')): the same under /model_weights, plus /model_config etc. at the root.
// Attributes larger than HDF5's object-header limit are split as layer_names0, layer_names1, ...;
// older Keras decodes these names with bytes.decode, so they are written as fixed-length byte strings.
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Group, Dataset, Attribute } from 'h5wasm/node';
import { UserError } from '../util/errors.js';
import { tempNameFor } from '../util/fs-atomic.js';

export interface KerasTensor {
  shape: number[];
  data: Float32Array;
}

/** layer name → (short weight name, e.g. "kernel" → tensor), in the file's layer order. Weightless layers map to an empty Map. */
export type KerasWeights = Map<string, Map<string, KerasTensor>>;

export type KerasH5Layout = 'weights' | 'model';

export interface KerasH5File {
  layout: KerasH5Layout;
  /** layer_names in file order (weightless layers included). */
  layerNames: string[];
  weights: KerasWeights;
  /** Layers that were nested models, expanded into their sublayers in `weights`. */
  nested: string[];
  kerasVersion?: string;
  backend?: string;
}

let ready: Promise<unknown> | undefined;
async function h5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

/** "block1a_dwconv/depthwise_kernel:0" → "depthwise_kernel"; tolerates model-name prefixes and missing ":0". */
export function shortWeightName(stored: string): string {
  const last = stored.split('/').at(-1) ?? stored;
  return last.replace(/:\d+$/, '');
}

function attrStrings(g: Group, name: string): string[] | undefined {
  const attrs = g.attrs;
  const decode = (a: Attribute): string[] => {
    const v = a.value;
    if (v === null || v === undefined) return [];
    const arr = Array.isArray(v) ? v : typeof v === 'string' ? [v] : ArrayBuffer.isView(v) ? [] : [v];
    return arr.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x).replace(/\0+$/, '') : String(x)));
  };
  if (name in attrs) return decode(attrs[name]);
  if (!(`${name}0` in attrs)) return undefined;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...decode(attrs[`${name}${i}`]));
  return out;
}

function attrString(g: Group, name: string): string | undefined {
  const v = attrStrings(g, name);
  return v?.length ? v[0] : undefined;
}

function toFloat32(value: unknown, file: string, where: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (typeof value === 'number') return Float32Array.of(value);
  if (typeof value === 'bigint') return Float32Array.of(Number(value));
  if (value instanceof BigInt64Array || value instanceof BigUint64Array)
    return Float32Array.from(value, (b) => Number(b));
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Float32Array.from(value as unknown as ArrayLike<number>);
  }
  throw new UserError(`weight ${where} is not a numeric array`, { file });
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5's superblock signature sits at 0 or after a user block of 512·2^k bytes. */
async function hasHdf5Signature(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const buf = Buffer.alloc(8);
      await fh.read(buf, 0, 8, at);
      if (buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await fh.close();
  }
}

/** Read a Keras .h5 (weights-only or full model); the top of a full model is returned too (callers ignore it). */
export async function readKerasH5(path: string): Promise<KerasH5File> {
  if (!existsSync(path)) throw new UserError(`model file not found: ${path}`, { file: path });
  if (!(await hasHdf5Signature(path))) {
    throw new UserError(
      'not an HDF5 file (no HDF5 signature)',
      { file: path },
      'expected a Keras .h5 weights file (model.save or model.save_weights)',
    );
  }
  const lib = await h5();
  let f: InstanceType<typeof lib.File>;
  try {
    f = new lib.File(path, 'r');
  } catch (e) {
    throw new UserError(
      `cannot open as HDF5: ${(e as Error).message ?? String(e)}`,
      { file: path },
      'expected a Keras .h5 weights file',
    );
  }
  try {
    let root: Group = f;
    let layout: KerasH5Layout = 'weights';
    const mw = f.get('model_weights');
    if (mw instanceof lib.Group) {
      root = mw;
      layout = 'model';
    }
    const layerNames = attrStrings(root, 'layer_names');
    if (!layerNames) {
      if (f.get('layers') instanceof lib.Group && f.get('vars') !== undefined) {
        throw new UserError(
          'this is a Keras 3 .weights.h5 file, not the Keras 2 HDF5 layout',
          { file: path },
          'load it in Keras and save with model.save_weights("x.h5") under Keras 2 / tf.keras, or export to ONNX',
        );
      }
      throw new UserError(
        'no layer_names attribute: not a Keras HDF5 weights file',
        { file: path },
        'expected a file written by Keras model.save or model.save_weights (.h5)',
      );
    }
    const weights: KerasWeights = new Map();
    const nested: string[] = [];
    for (const layer of layerNames) {
      const g = root.get(layer);
      const layerMap = new Map<string, KerasTensor>();
      weights.set(layer, layerMap);
      if (!(g instanceof lib.Group)) {
        throw new UserError(`layer '${layer}' is listed in layer_names but has no group`, { file: path });
      }
      const names = attrStrings(g, 'weight_names') ?? [];
      // A nested model (e.g. Sequential([EfficientNetB0(...), Dense])) stores all its weights in one
      // group, named "<sublayer>/<weight>:0": expand them into their sublayers.
      const owners = new Set(names.map((n) => n.split('/').at(-2) ?? layer));
      const isNested = owners.size > 1;
      if (isNested) {
        weights.delete(layer);
        nested.push(layer);
      }
      for (const stored of names) {
        const ds = g.get(stored);
        if (!(ds instanceof lib.Dataset)) {
          throw new UserError(`layer '${layer}': weight '${stored}' is listed but missing`, { file: path });
        }
        const d = ds as Dataset;
        const shape = d.shape ?? [];
        const data = toFloat32(d.value, path, `${layer}/${stored}`);
        let target = layerMap;
        if (isNested) {
          const owner = stored.split('/').at(-2)!;
          target = weights.get(owner) ?? new Map<string, KerasTensor>();
          weights.set(owner, target);
        }
        target.set(shortWeightName(stored), { shape: [...shape], data });
      }
    }
    return {
      layout,
      layerNames,
      weights,
      nested,
      kerasVersion: attrString(root, 'keras_version') ?? attrString(f, 'keras_version'),
      backend: attrString(root, 'backend') ?? attrString(f, 'backend'),
    };
  } finally {
    f.close();
  }
}

/** Map<layerName, Map<weightName, {shape, data}>> of a Keras .h5 (either layout). */
export async function readKerasWeights(path: string): Promise<KerasWeights> {
  return (await readKerasH5(path)).weights;
}

export interface WriteKerasOptions {
  /** 'weights' (save_weights / *_notop.h5, the default) or 'model' (weights under /model_weights). */
  layout?: KerasH5Layout;
  kerasVersion?: string;
  /** Full-model files only: the model_config JSON string, when the caller has one. */
  modelConfig?: string;
}

// Keras splits attributes above HDF5's 64 KiB object-header limit into numbered chunks.
const HEADER_LIMIT = 64512;

function writeStringsAttr(g: Group, name: string, values: readonly string[]): void {
  const width = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8'))) + 1;
  if (values.length === 0) {
    // Keras writes np.asarray([]) (float64, shape (0,)) for a layer without weights.
    g.create_attribute(name, new Float64Array(0), [0], '<d');
    return;
  }
  const chunks = Math.ceil((width * values.length) / HEADER_LIMIT);
  if (chunks <= 1) {
    g.create_attribute(name, [...values], [values.length], `A${width}`);
    return;
  }
  const per = Math.ceil(values.length / chunks);
  for (let i = 0; i * per < values.length; i++) {
    const part = values.slice(i * per, (i + 1) * per);
    g.create_attribute(`${name}${i}`, [...part], [part.length], `A${width}`);
  }
}

/** A scalar fixed-length byte string, as h5py stores numpy bytes (old Keras calls .decode on it). */
function writeStringAttr(g: Group, name: string, value: string): void {
  g.create_attribute(name, value, [], `A${Math.max(1, Buffer.byteLength(value, 'utf8')) + 1}`);
}

/**
 * Write weights in Keras 2's HDF5 layout. Layer order = the Map's order; every layer in the Map is
 * listed in layer_names (an empty Map is a weightless layer). Written to a temporary name and renamed.
 */
export async function writeKerasWeights(
  path: string,
  weights: KerasWeights,
  options: WriteKerasOptions = {},
): Promise<void> {
  const lib = await h5();
  const layout = options.layout ?? 'weights';
  const kerasVersion = options.kerasVersion ?? '2.4.0';
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempNameFor(path);
  const f = new lib.File(tmp, 'w');
  try {
    let root: Group = f;
    if (layout === 'model') {
      writeStringAttr(f, 'keras_version', kerasVersion);
      writeStringAttr(f, 'backend', 'tensorflow');
      if (options.modelConfig !== undefined) writeStringAttr(f, 'model_config', options.modelConfig);
      root = f.create_group('model_weights');
    }
    writeStringsAttr(root, 'layer_names', [...weights.keys()]);
    writeStringAttr(root, 'backend', 'tensorflow');
    writeStringAttr(root, 'keras_version', kerasVersion);
    for (const [layer, ws] of weights) {
      const g = root.create_group(layer);
      const stored = [...ws.keys()].map((w) => `${layer}/${w}:0`);
      writeStringsAttr(g, 'weight_names', stored);
      if (ws.size === 0) continue;
      const inner = g.create_group(layer);
      for (const [w, t] of ws) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (n !== t.data.length)
          throw new Error(`writeKerasWeights: ${layer}/${w} has shape [${t.shape}] but ${t.data.length} values`);
        inner.create_dataset({ name: `${w}:0`, data: t.data, shape: t.shape, dtype: '<f' });
      }
    }
  } catch (e) {
    f.close();
    await rm(tmp, { force: true });
    throw e;
  }
  f.close();
  await rename(tmp, path);
}

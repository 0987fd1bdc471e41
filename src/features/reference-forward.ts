// A deliberately plain forward pass of the EfficientNetB0 spec in float64, one image at a time:
// the second, independent route the ONNX graph is checked against. Slow, simple, no fusing.
import type { EfficientNetWeights } from '../model/efficientnet-weights.js';
import { EFFICIENTNET, type LayerSpec } from '../model/efficientnet-spec.js';
import { IMAGENET_STDDEV_RGB } from '../model/efficientnet-weights.js';

/** An HWC float64 tensor. */
export interface Hwc {
  h: number;
  w: number;
  c: number;
  data: Float64Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const swish = (x: number): number => x * sigmoid(x);

function act(t: Hwc, a: LayerSpec['activation']): Hwc {
  if (!a || a === 'linear') return t;
  const f = a === 'swish' ? swish : a === 'sigmoid' ? sigmoid : null;
  if (!f) throw new Error(`reference: activation ${a} not supported`);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = f(d[i]);
  return t;
}

function pad(t: Hwc, top: number, bottom: number, left: number, right: number): Hwc {
  const h = t.h + top + bottom;
  const w = t.w + left + right;
  const out = new Float64Array(h * w * t.c);
  for (let y = 0; y < t.h; y++) {
    for (let x = 0; x < t.w; x++) {
      const src = (y * t.w + x) * t.c;
      out.set(t.data.subarray(src, src + t.c), ((y + top) * w + x + left) * t.c);
    }
  }
  return { h, w, c: t.c, data: out };
}

/** TensorFlow 'same' for stride 1 (odd kernels): (k − 1) / 2 on every side. */
function samePad(t: Hwc, k: number): Hwc {
  const p = (k - 1) / 2;
  return p > 0 ? pad(t, p, p, p, p) : t;
}

/** Conv2D with an HWIO kernel on a (pre-padded) input, 'valid'. */
function conv(t: Hwc, kernel: Float32Array, k: number, stride: number, cout: number, bias?: Float32Array): Hwc {
  const oh = Math.floor((t.h - k) / stride) + 1;
  const ow = Math.floor((t.w - k) / stride) + 1;
  const cin = t.c;
  const out = new Float64Array(oh * ow * cout);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = (y * ow + x) * cout;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const src = ((y * stride + ky) * t.w + x * stride + kx) * cin;
          const kb = (ky * k + kx) * cin * cout;
          for (let ci = 0; ci < cin; ci++) {
            const v = t.data[src + ci];
            if (v === 0) continue;
            const kr = kb + ci * cout;
            for (let co = 0; co < cout; co++) out[o + co] += v * kernel[kr + co];
          }
        }
      }
      if (bias) for (let co = 0; co < cout; co++) out[o + co] += bias[co];
    }
  }
  return { h: oh, w: ow, c: cout, data: out };
}

/** DepthwiseConv2D with an (H, W, C, 1) kernel, 'valid'. */
function depthwise(t: Hwc, kernel: Float32Array, k: number, stride: number): Hwc {
  const oh = Math.floor((t.h - k) / stride) + 1;
  const ow = Math.floor((t.w - k) / stride) + 1;
  const c = t.c;
  const out = new Float64Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const o = (y * ow + x) * c;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const src = ((y * stride + ky) * t.w + x * stride + kx) * c;
          const kb = (ky * k + kx) * c;
          for (let ch = 0; ch < c; ch++) out[o + ch] += t.data[src + ch] * kernel[kb + ch];
        }
      }
    }
  }
  return { h: oh, w: ow, c, data: out };
}

function gap(t: Hwc): Hwc {
  const out = new Float64Array(t.c);
  const n = t.h * t.w;
  for (let i = 0; i < n; i++) for (let ch = 0; ch < t.c; ch++) out[ch] += t.data[i * t.c + ch];
  for (let ch = 0; ch < t.c; ch++) out[ch] /= n;
  return { h: 1, w: 1, c: t.c, data: out };
}

function perChannel(t: Hwc, f: (v: number, ch: number) => number): Hwc {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(t.data[i], i % t.c);
  return { ...t, data: out };
}

/**
 * The 1280-d global-average-pool features of one HWC image (values 0–255, 3 channels), following
 * the layer list of `net` in order.
 */
export function referenceForward(net: EfficientNetWeights, image: Hwc): Float64Array {
  const values = new Map<string, Hwc>();
  let last: Hwc = image;
  const get = (name: string): Hwc => {
    const v = values.get(name);
    if (!v) throw new Error(`reference: no value for ${name}`);
    return v;
  };
  const w = (layer: string, name: string): Float32Array => {
    const t = net.tensors.get(layer)?.get(name);
    if (!t) throw new Error(`reference: missing ${layer}/${name}`);
    return t.data;
  };
  for (const l of net.layers) {
    const input = l.inputs.length && values.has(l.inputs[0]) ? get(l.inputs[0]) : last;
    let out: Hwc;
    switch (l.kind) {
      case 'input':
        out = image;
        break;
      case 'rescaling':
        out = perChannel(input, (v) => v * (l.scale ?? 1) + (l.offset ?? 0));
        break;
      case 'normalization': {
        const mean = w(l.name, 'mean');
        const variance = w(l.name, 'variance');
        out = perChannel(
          input,
          (v, ch) => (v - mean[ch]) / Math.max(Math.sqrt(variance[ch]), EFFICIENTNET.normalizationEpsilon),
        );
        if (net.imagenetStdFix) out = perChannel(out, (v, ch) => v / Math.sqrt(IMAGENET_STDDEV_RGB[ch]));
        break;
      }
      case 'zero_padding': {
        const [[t, b], [le, r]] = l.pad!;
        out = pad(input, t, b, le, r);
        break;
      }
      case 'conv': {
        const src = l.padding === 'same' ? samePad(input, l.kernel!) : input;
        out = act(
          conv(src, w(l.name, 'kernel'), l.kernel!, l.stride!, l.filters!, l.useBias ? w(l.name, 'bias') : undefined),
          l.activation,
        );
        break;
      }
      case 'depthwise_conv': {
        const src = l.padding === 'same' ? samePad(input, l.kernel!) : input;
        out = depthwise(src, w(l.name, 'depthwise_kernel'), l.kernel!, l.stride!);
        break;
      }
      case 'batch_norm': {
        const g = w(l.name, 'gamma');
        const b = w(l.name, 'beta');
        const m = w(l.name, 'moving_mean');
        const v = w(l.name, 'moving_variance');
        const eps = l.epsilon ?? EFFICIENTNET.bnEpsilon;
        out = perChannel(input, (x, ch) => (g[ch] * (x - m[ch])) / Math.sqrt(v[ch] + eps) + b[ch]);
        break;
      }
      case 'activation':
        out = act({ ...input, data: Float64Array.from(input.data) }, l.activation);
        break;
      case 'global_avg_pool':
        out = gap(input);
        break;
      case 'reshape':
      case 'dropout':
        out = input;
        break;
      case 'multiply': {
        const a = get(l.inputs[0]);
        const s = get(l.inputs[1]);
        out = perChannel(a, (v, ch) => v * s.data[ch]);
        break;
      }
      case 'add': {
        const a = get(l.inputs[0]);
        const b = get(l.inputs[1]);
        const d = new Float64Array(a.data.length);
        for (let i = 0; i < d.length; i++) d[i] = a.data[i] + b.data[i];
        out = { ...a, data: d };
        break;
      }
      default:
        throw new Error(`reference: layer kind ${l.kind} not supported`);
    }
    values.set(l.name, out);
    last = out;
  }
  return gap(last).data;
}

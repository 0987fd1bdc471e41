// A minimal in-memory ONNX model for the one operation the exact kNN needs, written with
// onnx-proto so this stage depends on no other stage's graph builder.
//
//   D = tn - 2 * Q · Tᵀ        (Gemm, transB=1: the squared distance less |q|², per query row)
//   values, indices = TopK(D, k, smallest first)
//
// Inputs: q [m, d] float32, t [n, d] float32, tn [n] float32 (|t|²), k [1] int64.
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace comes through the default export under ESM.
const { onnx } = onnxProto;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): P.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** A graph as a serialised opset-13 model. */
function encodeModel(graph: P.IGraphProto): Uint8Array {
  const model: P.IModelProto = {
    irVersion: 8,
    producerName: 'cytoimagenet-evaluate',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** The serialised model: nearest-by-squared-Euclidean candidates for a block of queries. */
export function distanceTopKModel(): Uint8Array {
  const gemm: P.INodeProto = {
    opType: 'Gemm',
    name: 'gemm',
    input: ['q', 't', 'tn'],
    output: ['d'],
    attribute: [
      { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: -2 },
      { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
      { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
    ],
  };
  const topk: P.INodeProto = {
    opType: 'TopK',
    name: 'topk',
    input: ['d', 'k'],
    output: ['values', 'indices'],
    attribute: [
      { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      { name: 'largest', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      { name: 'sorted', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
    ],
  };
  return encodeModel({
    name: 'distance_topk',
    node: [gemm, topk],
    input: [
      valueInfo('q', FLOAT, ['m', 'dim']),
      valueInfo('t', FLOAT, ['n', 'dim']),
      valueInfo('tn', FLOAT, ['n']),
      valueInfo('k', INT64, [1]),
    ],
    output: [valueInfo('values', FLOAT, ['m', 'kk']), valueInfo('indices', INT64, ['m', 'kk'])],
  });
}

/** A plain Q · Tᵀ model (Gemm, transB=1), for the throughput benchmark. */
export function matMulModel(): Uint8Array {
  return encodeModel({
    name: 'matmul',
    node: [
      {
        opType: 'Gemm',
        name: 'gemm',
        input: ['q', 't'],
        output: ['y'],
        attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
    ],
    input: [valueInfo('q', FLOAT, ['m', 'dim']), valueInfo('t', FLOAT, ['n', 'dim'])],
    output: [valueInfo('y', FLOAT, ['m', 'n'])],
  });
}

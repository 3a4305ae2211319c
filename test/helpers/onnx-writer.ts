/**
 * A minimal ONNX model writer: just enough of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto, AttributeProto) in protobuf wire format to build the tiny SAM-shaped test models. No npm
 * package writes ONNX from JavaScript without a protobuf toolchain; this is ~150 lines and has no state.
 */

type Field = Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

function tag(field: number, wire: 0 | 2 | 5): number[] {
  return varint((field << 3) | wire);
}

function concat(parts: ReadonlyArray<Uint8Array | number[]>): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const intField = (field: number, value: number | bigint): Field => Uint8Array.from([...tag(field, 0), ...varint(value)]);
const bytesField = (field: number, bytes: Uint8Array): Field => concat([tag(field, 2), varint(bytes.length), bytes]);
const stringField = (field: number, text: string): Field => bytesField(field, new TextEncoder().encode(text));
const messageField = (field: number, parts: Field[]): Field => bytesField(field, concat(parts));
function floatField(field: number, value: number): Field {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return concat([tag(field, 5), bytes]);
}

export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export interface Tensor {
  name: string;
  type: DataTypeCode;
  dims: number[];
  values: ReadonlyArray<number>;
}

function tensorProto(t: Tensor): Field[] {
  let raw: Uint8Array;
  if (t.type === DataType.FLOAT) raw = new Uint8Array(Float32Array.from(t.values).buffer);
  else if (t.type === DataType.INT64) raw = new Uint8Array(BigInt64Array.from(t.values.map((v) => BigInt(v))).buffer);
  else if (t.type === DataType.INT32) raw = new Uint8Array(Int32Array.from(t.values).buffer);
  else raw = Uint8Array.from(t.values);
  return [...t.dims.map((d) => intField(1, d)), intField(2, t.type), stringField(8, t.name), bytesField(9, raw)];
}

export type Attribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; ints: number[] }
  | { name: string; tensor: Tensor };

function attributeProto(a: Attribute): Field[] {
  const name = stringField(1, a.name);
  if ("int" in a) return [name, intField(3, a.int), intField(20, 2)];
  if ("float" in a) return [name, floatField(2, a.float), intField(20, 1)];
  if ("ints" in a) return [name, ...a.ints.map((v) => intField(8, v)), intField(20, 7)];
  return [name, messageField(5, tensorProto(a.tensor)), intField(20, 4)];
}

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

/** A graph input or output: a name, an element type and a shape (numbers, or names for dynamic axes). */
export interface ValueInfo {
  name: string;
  type: DataTypeCode;
  shape: ReadonlyArray<number | string>;
}

function valueInfoProto(v: ValueInfo): Field[] {
  const dims = v.shape.map((d) => messageField(1, [typeof d === "number" ? intField(1, d) : stringField(2, d)]));
  const tensorType = messageField(1, [intField(1, v.type), messageField(2, dims)]);
  return [stringField(1, v.name), messageField(2, [tensorType])];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Default opset 17 (what samexporter exports SAM 2 with). */
  opset?: number;
}

/** The serialised ModelProto (IR version 8). */
export function writeOnnxModel(graph: Graph): Uint8Array {
  const nodes = graph.nodes.map((n, i) =>
    messageField(1, [
      ...n.inputs.map((name) => stringField(1, name)),
      ...n.outputs.map((name) => stringField(2, name)),
      stringField(3, `${n.op.toLowerCase()}_${i}`),
      stringField(4, n.op),
      ...(n.attributes ?? []).map((a) => messageField(5, attributeProto(a))),
    ]),
  );
  const graphProto = messageField(7, [
    ...nodes,
    stringField(2, graph.name),
    ...graph.initializers.map((t) => messageField(5, tensorProto(t))),
    ...graph.inputs.map((v) => messageField(11, valueInfoProto(v))),
    ...graph.outputs.map((v) => messageField(12, valueInfoProto(v))),
  ]);
  return concat([
    intField(1, 8),
    stringField(2, "flux-fill-mcp tests"),
    graphProto,
    messageField(8, [stringField(1, ""), intField(2, graph.opset ?? 17)]),
  ]);
}

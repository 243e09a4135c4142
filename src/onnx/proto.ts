// The ONNX file format: the messages of onnx.proto (ONNX IR version 8) that a
// network needs, with their field numbers, read and written by protobufjs.
// The schema is declared here as a protobufjs JSON descriptor rather than
// parsed from a .proto file at run time, so only protobufjs's light build is
// loaded and nothing reads a file.
import protobuf from 'protobufjs/light.js';
import { NeuriteError } from '../core/errors.js';

/** An ONNX file that cannot be read or that neurite cannot run; the message says which node or field and why. */
export class OnnxError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'OnnxError';
}

const f = (type: string, id: number, rule?: 'repeated') => (rule ? { type, id, rule } : { type, id });

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: f('string', 1),
            refAttrName: f('string', 21),
            docString: f('string', 13),
            type: f('int32', 20),
            f: f('float', 2),
            i: f('int64', 3),
            s: f('bytes', 4),
            t: f('TensorProto', 5),
            g: f('GraphProto', 6),
            floats: f('float', 7, 'repeated'),
            ints: f('int64', 8, 'repeated'),
            strings: f('bytes', 9, 'repeated'),
            tensors: f('TensorProto', 10, 'repeated'),
            graphs: f('GraphProto', 11, 'repeated'),
          },
        },
        ValueInfoProto: { fields: { name: f('string', 1), type: f('TypeProto', 2), docString: f('string', 3) } },
        NodeProto: {
          fields: {
            input: f('string', 1, 'repeated'),
            output: f('string', 2, 'repeated'),
            name: f('string', 3),
            opType: f('string', 4),
            domain: f('string', 7),
            attribute: f('AttributeProto', 5, 'repeated'),
            docString: f('string', 6),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f('int64', 1),
            opsetImport: f('OperatorSetIdProto', 8, 'repeated'),
            producerName: f('string', 2),
            producerVersion: f('string', 3),
            domain: f('string', 4),
            modelVersion: f('int64', 5),
            docString: f('string', 6),
            graph: f('GraphProto', 7),
            metadataProps: f('StringStringEntryProto', 14, 'repeated'),
            functions: f('FunctionProto', 25, 'repeated'),
          },
        },
        FunctionProto: {
          fields: {
            name: f('string', 1),
            input: f('string', 4, 'repeated'),
            output: f('string', 5, 'repeated'),
            attribute: f('string', 6, 'repeated'),
            node: f('NodeProto', 7, 'repeated'),
            docString: f('string', 8),
            opsetImport: f('OperatorSetIdProto', 9, 'repeated'),
            domain: f('string', 10),
          },
        },
        StringStringEntryProto: { fields: { key: f('string', 1), value: f('string', 2) } },
        GraphProto: {
          fields: {
            node: f('NodeProto', 1, 'repeated'),
            name: f('string', 2),
            initializer: f('TensorProto', 5, 'repeated'),
            docString: f('string', 10),
            input: f('ValueInfoProto', 11, 'repeated'),
            output: f('ValueInfoProto', 12, 'repeated'),
            valueInfo: f('ValueInfoProto', 13, 'repeated'),
          },
        },
        TensorProto: {
          fields: {
            dims: f('int64', 1, 'repeated'),
            dataType: f('int32', 2),
            floatData: f('float', 4, 'repeated'),
            int32Data: f('int32', 5, 'repeated'),
            int64Data: f('int64', 7, 'repeated'),
            name: f('string', 8),
            rawData: f('bytes', 9),
            doubleData: f('double', 10, 'repeated'),
            dataLocation: f('int32', 14),
          },
        },
        TensorShapeProto: {
          fields: { dim: f('Dimension', 1, 'repeated') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: f('int64', 1), dimParam: f('string', 2), denotation: f('string', 3) },
            },
          },
        },
        TypeProto: {
          fields: { tensorType: f('TensorType', 1), denotation: f('string', 6) },
          nested: { TensorType: { fields: { elemType: f('int32', 1), shape: f('TensorShapeProto', 2) } } },
        },
        OperatorSetIdProto: { fields: { domain: f('string', 1), version: f('int64', 2) } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);
const ModelType = root.lookupType('onnx.ModelProto');

/** The domain of neurite's model-local functions (the layers ONNX has no single operator for). */
export const NEURITE_DOMAIN = 'neurite';

/** Marks an ONNX global pooling that came from neurite's GlobalAvgPool/GlobalMaxPool rather than from adaptive pooling to 1. */
export const GLOBAL_POOL_NOTE = 'neurite:GlobalPool';

/** TensorProto.DataType values neurite reads and writes. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 } as const;

/** An attribute as decoded: one of its value fields is set. */
export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** A tensor value (an initializer, or an attribute's tensor). */
export interface TensorProto {
  name?: string;
  dims?: number[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  doubleData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  dataLocation?: number;
}

/** One operator call. */
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttributeProto[];
  docString?: string;
}

/** A model-local function: a named subgraph that a node of its domain calls (IR version 8). */
export interface FunctionProto {
  name: string;
  domain: string;
  input: string[];
  output: string[];
  node: NodeProto[];
  opsetImport: { domain?: string; version?: number }[];
  docString?: string;
}

/** A graph input or output: its name, element type and shape (a dimension is a number or a symbolic name). */
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } };
}

/** The computation: nodes in topological order, their weights and the graph's inputs and outputs. */
export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
  docString?: string;
}

/** A whole ONNX file. */
export interface ModelProto {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  graph?: GraphProto;
  metadataProps?: { key?: string; value?: string }[];
  functions?: FunctionProto[];
}

/** Serialize a model to the bytes of an .onnx file. */
export function encodeModel(model: ModelProto): Uint8Array {
  const problem = ModelType.verify(model);
  if (problem) throw new OnnxError(`ONNX export: the model message is malformed (${problem})`);
  return ModelType.encode(ModelType.fromObject(model)).finish();
}

/** Parse the bytes of an .onnx file; anything that is not a well-formed ModelProto is an OnnxError. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let message: protobuf.Message;
  try {
    message = ModelType.decode(bytes);
  } catch (e) {
    throw new OnnxError(`not an ONNX file, or a truncated one: ${(e as Error).message}`);
  }
  const model = ModelType.toObject(message, { longs: Number, arrays: true, defaults: false }) as ModelProto;
  if (!model.graph) throw new OnnxError('not an ONNX model: the file has no graph');
  return model;
}

// ONNX: export neurite's models to the interchange format and import ONNX files as graph Models.
export { ONNX_OPSET, type OnnxExportOptions, toOnnx } from './export.js';
export { fromOnnx, type OnnxFile, readOnnx } from './import.js';
export { OnnxError } from './proto.js';

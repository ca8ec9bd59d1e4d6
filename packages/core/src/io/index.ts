/**
 * Model file formats: safetensors (read and write, single and sharded) and
 * GGUF (read). Parsers work on bytes anywhere; the path-based functions use
 * Node's fs, imported only when called.
 */
export { ModelFileError, type ModelFileFormat } from './errors.js';
export {
  SAFETENSORS_MAX_HEADER_BYTES,
  SAFETENSORS_READ_DTYPES,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeaderLength,
  decodeSafetensorsData,
  type SafetensorsTensorInfo,
  type SafetensorsHeader,
  type SafetensorsEntry,
  type ParsedSafetensors,
  type ParseSafetensorsOptions,
} from './safetensors.js';
export {
  SAFETENSORS_WRITE_DTYPES,
  encodeSafetensors,
  planSafetensors,
  type HostTensor,
  type TensorSpec,
  type SafetensorsPlan,
  type PlannedTensor,
} from './safetensors-write.js';
export {
  SafetensorsFile,
  openSafetensors,
  loadSafetensors,
  loadSafetensorsFromBuffer,
  serializeSafetensors,
  saveSafetensors,
  type LoadSafetensorsOptions,
  type SaveableTensor,
  type NamedTensors,
} from './safetensors-file.js';
export {
  SAFETENSORS_WEIGHTS_NAME,
  resolveWeightFiles,
  readShardIndex,
  loadShardedSafetensors,
  readShardedSafetensors,
  loadSafetensorsWeights,
  type WeightFiles,
  type ShardIndex,
  type ResolveWeightOptions,
} from './sharded.js';
export {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_VALUE_TYPES,
  GGML_TYPE_NAMES,
  GGUF_SUPPORTED_TYPES,
  ggmlTypeName,
  parseGgufHeader,
  parseGguf,
  readGgufFile,
  loadGguf,
  type GgufTensorInfo,
  type GgufHeader,
  type GgufTensorEntry,
  type ParsedGguf,
  type LoadedGguf,
} from './gguf.js';
export { readRawElements, toHostTensor, type LoadOptions } from './host-tensor.js';
export { writeFileAtomic } from './node-fs.js';

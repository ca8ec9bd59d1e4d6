/** Which kind of file a {@link ModelFileError} is about. */
export type ModelFileFormat = 'safetensors' | 'safetensors index' | 'gguf';

/**
 * A model file (or buffer) is malformed, truncated or uses something this
 * reader does not support. The message names the file (or the `source` label
 * given for a buffer) and, where one is involved, the tensor:
 * `safetensors file model.safetensors, tensor 'a.weight': …`.
 */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    readonly format: ModelFileFormat,
    /** File path or the label passed for a buffer. */
    readonly source: string,
    /** What is wrong, without the file and tensor prefix. */
    readonly detail: string,
    /** The tensor involved, if any. */
    readonly tensor?: string,
  ) {
    super(`${format} file ${source}${tensor !== undefined ? `, tensor '${tensor}'` : ''}: ${detail}`);
  }
}

/** Label used in error messages for buffers parsed without a `source`. */
export const BUFFER_SOURCE = '<buffer>';

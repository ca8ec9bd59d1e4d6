/** Thrown when tensor shapes do not fit an operation. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Thrown when tensor dtypes do not fit an operation. */
export class DTypeError extends Error {
  override name = 'DTypeError';
}

/** Thrown when no kernel is registered for an (op, backend) pair. */
export class KernelNotFoundError extends Error {
  override name = 'KernelNotFoundError';
  constructor(readonly kernel: string, readonly backend: string, registeredFor: string[]) {
    super(
      `kernel '${kernel}' is not registered for backend '${backend}'` +
        (registeredFor.length ? ` (registered for: ${registeredFor.join(', ')})` : ' (not registered for any backend)'),
    );
  }
}

/** Thrown when a disposed tensor is used. */
export class DisposedTensorError extends Error {
  override name = 'DisposedTensorError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * An invalid training or adapter argument. `field` is the camelCase field
 * name (the CLI reports its snake_case flag instead).
 */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

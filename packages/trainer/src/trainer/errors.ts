/**
 * Training stopped because the loss or a gradient was NaN or ±Infinity. No
 * optimizer step and no checkpoint were made for `step`.
 */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    /** The optimizer step (1-based) that failed. */
    readonly step: number,
    /** The non-finite loss value, when the loss was the problem. */
    readonly loss: number | undefined,
    /** The first parameter (model order) whose gradient is not finite, if any. */
    readonly parameter: string | undefined,
    epoch: number,
  ) {
    const what = loss !== undefined && !Number.isFinite(loss) ? `loss is ${loss}` : 'a gradient is not finite';
    const where = parameter ? `first parameter with a non-finite gradient: '${parameter}'` : 'every gradient is finite (their squared norm overflowed)';
    super(`training stopped at step ${step} (epoch ${epoch.toFixed(2)}): ${what}; ${where}. No optimizer step or checkpoint was made for this step; lower the learning rate or check the data`);
  }
}

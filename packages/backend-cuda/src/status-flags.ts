/**
 * The device status words: kernels that validate indices on the GPU OR a
 * flag into word 0 and store the offending value in word 1 (they write zeros
 * where the index was bad). Every read() and sync() copies the words back
 * with the data, clears them, and throws if a flag was set — the error
 * surfaces at the next read, as GPU errors do.
 */
export const STATUS_BYTES = 16;

export const STATUS = { gather: 1, scatterAdd: 2, crossEntropy: 4 } as const;

const MESSAGES: Record<number, string> = {
  [STATUS.gather]: 'gather: an index was out of range for the table (those rows were written as zeros)',
  [STATUS.scatterAdd]: 'scatterAdd: an index was out of range for the output rows (those source rows were skipped)',
  [STATUS.crossEntropy]: 'crossEntropy: a target was neither a class in [0, c) nor ignoreIndex (its loss/gradient row was written as zeros)',
};

/** Throws a RangeError naming every flagged kernel, or returns when the status words are clear. */
export function checkStatusWords(backend: string, buf: ArrayBuffer, at: number): void {
  const view = new DataView(buf, at, STATUS_BYTES);
  const flags = view.getUint32(0, true);
  if (!flags) return;
  const msgs = Object.entries(MESSAGES)
    .filter(([bit]) => flags & Number(bit))
    .map(([, m]) => m);
  throw new RangeError(`${backend}: ${msgs.join('; ')} (offending value: ${view.getInt32(4, true)})`);
}

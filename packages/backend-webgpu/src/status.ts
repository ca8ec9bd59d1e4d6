/**
 * The status buffer: kernels that validate indices on the GPU OR a flag into
 * word 0 and store an offending value in word 1. Every read()/sync() copies
 * it back with the data, clears it, and throws if a flag was set.
 */

/** Words of the status buffer. */
export const STATUS_WORDS = 4;

/** Bits of status word 0. */
export const STATUS = { gather: 1, scatterAdd: 2, crossEntropy: 4 } as const;

export const STATUS_MESSAGES: Record<number, string> = {
  [STATUS.gather]: 'gather: an index was out of range for the table (those rows were written as zeros)',
  [STATUS.scatterAdd]: 'scatterAdd: an index was out of range for the output rows (those source rows were skipped)',
  [STATUS.crossEntropy]: 'crossEntropy: a target was neither a class in [0, c) nor ignoreIndex (its loss/gradient row was written as zeros)',
};

import { manualSeed } from '@adapterkit/core';

/** Python `fix_seed`: reseeds the global random stream when a seed is set (0 counts as unset, REFERENCE quirk Q7). */
export function fixSeed(seed: number | null): void {
  if (seed) manualSeed(seed);
}

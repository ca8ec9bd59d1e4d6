import type { AdapterHost } from '@adapterkit/core';
import { PrefixTuningPool } from './modules.js';

/** The model's prefix pool (`<base>.prefix_tuning`, as Python's `base_model.prefix_tuning`), created on first use. */
export function prefixPoolOf(host: AdapterHost, create: boolean): PrefixTuningPool | undefined {
  const base = host.info.base;
  const existing = base.child<PrefixTuningPool>('prefix_tuning');
  if (existing || !create) return existing;
  return base.registerModule('prefix_tuning', new PrefixTuningPool());
}


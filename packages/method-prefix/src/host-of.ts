import { AdapterHost } from '@adapterkit/core';

/** A model given the adapter API by `initAdapters` (or an AdapterModel), or its host. */
export type HostLike = AdapterHost | { readonly adapterHost?: AdapterHost };

/** The adapter host of a model (or the host itself); an error when the model has none. */
export function hostOf(target: HostLike, where: string): AdapterHost {
  if (target instanceof AdapterHost) return target;
  if (target.adapterHost) return target.adapterHost;
  throw new Error(`${where}: the model has no adapter support; call initAdapters(model) first`);
}

import { ModuleList, type AdapterHost, type AnySite, type Module } from '@adapterkit/core';

/** The parent module and local name of a dotted module path. */
export function parentOf(root: Module, path: string): { parent: Module; name: string } {
  if (!path) throw new Error('replaceModule: cannot replace the root module');
  const dot = path.lastIndexOf('.');
  return { parent: root.getSubmodule(dot < 0 ? '' : path.slice(0, dot)), name: path.slice(dot + 1) };
}

/**
 * Puts `next` where `old` is (same name and position). Models keep typed
 * fields pointing at their children (`this.q_proj = registerModule(…)`) and
 * call those in forward, so every own field of the parent that holds `old`
 * is pointed at `next` too (core's castTo does the same for parameters).
 */
export function replaceChild(parent: Module, name: string, old: Module, next: Module): void {
  if (parent.child(name) !== old) throw new Error(`replaceModule: '${name}' of ${parent.constructor.name} is not the module to replace`);
  if (parent instanceof ModuleList) (parent as ModuleList<Module>).set(Number(name), next);
  else parent.registerModule(name, next);
  const fields = parent as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (v === old) fields[key] = next;
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (v[i] === old) v[i] = next;
  }
}

/** Adapter hosts reachable from a model (AdapterModel.adapterHost, a base model's link set by the host). */
export function hostsOf(root: Module): AdapterHost[] {
  const out = new Set<AdapterHost>();
  for (const [, m] of root.namedModules()) {
    const h = (m as Module & { adapterHost?: AdapterHost }).adapterHost;
    if (h) out.add(h);
  }
  return [...out];
}

/** Makes hosts that listed `old` use `next` instead, in the same place (so site order stays model order). */
export function swapSite(hosts: AdapterHost[], old: AnySite, next: AnySite): void {
  for (const host of hosts) {
    const i = host.sites.indexOf(old);
    if (i < 0) continue;
    host.sites[i] = next;
    next.host = host;
  }
}

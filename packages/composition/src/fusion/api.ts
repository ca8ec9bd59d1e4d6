import {
  Fuse, add, mulScalar, noGrad, parseComposition, pow, sub, sum, tensor, tidy,
  type AdapterHost, type AdapterSetup, type AddFusionOptions, type CompositionBlock, type FusionConfigLike, type FusionSpec,
  type Tensor, type TrainFusionOptions,
} from '@adapterkit/core';
import { AdapterFusionConfig } from './config.js';
import { AdapterFusionLayer } from './layer.js';
import { allFusionLayers, fusionAtLocation, fusionDict, fusionNameOf, fusionsOf, resolveFusionSpec, type FusionEntry } from './registry.js';

/** A model with the adapter API, or its host. */
export type HostLike = AdapterHost | { readonly adapterHost: AdapterHost };

export function hostOf(target: HostLike): AdapterHost {
  return 'adapterHost' in target ? target.adapterHost : target;
}

/** The attention dropout of the model (Python falls back to attention_probs_dropout_prob, else 0). */
function modelAttentionDropout(host: AdapterHost): number {
  const raw = (host.info.base as unknown as { config?: { raw?: Record<string, unknown> } }).config?.raw ?? {};
  const p = raw.attention_probs_dropout_prob ?? raw.attention_dropout;
  return typeof p === 'number' ? p : 0;
}

/** The Fuse block that activates a fusion (with its custom name when it differs from the derived one). */
export function fuseBlockOf(entry: FusionEntry): Fuse {
  const derived = entry.adapterNames.join(',');
  return entry.name === derived ? new Fuse(...entry.adapterNames) : new Fuse(...entry.adapterNames, { name: entry.name });
}

/**
 * Adds an AdapterFusion (Python `add_adapter_fusion`): a fusion layer at
 * every residual location where all fused adapters are placed (same
 * `mh_adapter` / `output_adapter` flag — a mismatch is an error, as Python's
 * seq_bn + double_seq_bn). Like Python, layers are created in every layer of
 * such a location, also where the adapters are left out (they never run
 * there), so saved files are interchangeable. Returns the fusion's name.
 */
export function addAdapterFusion(target: HostLike, spec: FusionSpec, config?: FusionConfigLike | AdapterFusionConfig, opts: AddFusionOptions = {}): string {
  const host = hostOf(target);
  const { name, adapterNames } = resolveFusionSpec(spec, opts.name);
  const where = `addAdapterFusion '${name}'`;
  if (name.includes('.')) throw new Error(`${where}: a fusion name cannot contain '.'`);
  const fusions = fusionsOf(host);
  if (fusions.has(name)) {
    if (!opts.overwriteOk) throw new Error(`${where}: an AdapterFusion named '${name}' exists already (pass overwriteOk to replace it)`);
    deleteAdapterFusion(host, name);
  }
  const cfg = AdapterFusionConfig.load(config, where);
  const sites = host.sitesOf('residual');
  const locations = [...new Set(sites.map((s) => s.location))].filter((loc) => fusionAtLocation(host, adapterNames, loc, where));
  if (!locations.length) throw new Error(`${where}: the adapters ${adapterNames.join(', ')} share no residual location, so there is nothing to fuse`);
  const dtype = host.info.base.parameters()[0]?.dtype ?? 'f32';
  const dropout = cfg.fields.dropout_prob ?? modelAttentionDropout(host);
  for (const site of sites) {
    if (!locations.includes(site.location)) continue;
    const layer = new AdapterFusionLayer(cfg, host.info.hiddenSize, dropout, { dtype: dtype === 'f16' || dtype === 'bf16' || dtype === 'f32' ? dtype : 'f32' });
    layer.train(site.owner.training);
    fusionDict(site, true)!.set(name, layer);
  }
  const entry: FusionEntry = { name, adapterNames, config: cfg };
  fusions.set(name, entry);
  host.root.nameParameters();
  if (opts.setActive) host.setActiveAdapters(fuseBlockOf(entry));
  return name;
}

/** Removes a fusion and frees its layers (a no-op for unknown names); an active setup using it is cleared. */
export function deleteAdapterFusion(target: HostLike, spec: FusionSpec): void {
  const host = hostOf(target);
  const name = fusionNameOf(spec);
  const fusions = fusionsOf(host);
  if (!fusions.has(name)) return;
  for (const [site, n] of allFusionLayers(host)) if (n === name) fusionDict(site)!.delete(name)?.dispose();
  fusions.delete(name);
  const active = host.activeAdapters;
  if (active && fusesOf(active).some((f) => f.name === name)) host.setActiveAdapters(null);
}

/** The Fuse blocks of a setup: the root and its direct children (where Python looks). */
export function fusesOf(setup: CompositionBlock): Fuse[] {
  const out: Fuse[] = [];
  if (setup instanceof Fuse) out.push(setup);
  for (const c of setup.children) if (c instanceof Fuse) out.push(c);
  return out;
}

/** The fusion layers (all layers) of one fusion. */
export function fusionLayersOf(host: AdapterHost, name: string): AdapterFusionLayer[] {
  return allFusionLayers(host).filter(([, n]) => n === name).map(([, , l]) => l);
}

/**
 * Prepares fusion training (Python `train_adapter_fusion`): train mode,
 * the whole base model frozen, the fusion layers of the setup's Fuse
 * blocks (the root and its direct children) trainable — and the fused
 * adapters too with `unfreezeAdapters` — and the setup active. Heads stay
 * trainable. A Fuse without an added fusion is an error.
 */
export function trainAdapterFusion(target: HostLike, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: TrainFusionOptions = {}): void {
  const host = hostOf(target);
  const parsed = parseComposition(setup);
  if (!parsed) throw new Error('trainAdapterFusion: give the setup to train, e.g. Fuse(\'a\', \'b\')');
  host.checkSetup(parsed);
  const fuses = fusesOf(parsed);
  if (!fuses.length) throw new Error(`trainAdapterFusion: the setup ${parsed.toString()} has no Fuse block (at the root or as a direct child)`);
  for (const f of fuses) {
    if (!fusionsOf(host).has(f.name)) throw new Error(`trainAdapterFusion: no AdapterFusion named '${f.name}'; add it first with addAdapterFusion(${JSON.stringify(f.name)})`);
  }
  host.root.train();
  host.freezeModel(true);
  for (const f of fuses) for (const layer of fusionLayersOf(host, f.name)) for (const p of layer.parameters()) p.requiresGrad = true;
  if (opts.unfreezeAdapters) for (const n of parsed.flatten()) for (const [, p] of host.adapterParameters(n)) p.requiresGrad = true;
  host.setActiveAdapters(parsed);
}

/**
 * The fusion regulariser (Python `get_fusion_regularization_loss`):
 * Σ 0.01·‖I − W_v‖²_F over every fusion layer whose value matrix is being
 * trained; null when there is none. As in Python it depends on the value
 * matrix's existence, not on the config's `regularization` flag.
 */
export function fusionRegularizationLoss(target: HostLike): Tensor | null {
  const host = hostOf(target);
  const values = allFusionLayers(host).map(([, , l]) => l.value?.weight).filter((w) => w && w.requiresGrad) as Tensor[];
  if (!values.length) return null;
  const h = host.info.hiddenSize;
  const data = new Float32Array(h * h);
  for (let i = 0; i < h; i++) data[i * h + i] = 1;
  return tidy(() => {
    const eye = noGrad(() => tensor(data, [h, h], { dtype: values[0]!.dtype, backend: values[0]!.backend }));
    let total: Tensor | null = null;
    for (const w of values) {
      const term = mulScalar(sum(pow(sub(eye, w), 2)), 0.01);
      total = total ? add(total, term) : term;
    }
    return total;
  });
}

/**
 * `loss` plus the fusion regulariser (when fusion value matrices are
 * trained): call it on the task loss before `backward()` while training a
 * fusion. Python's AdapterTrainer instead back-propagates the regulariser
 * after the optimizer step (quirk Q15), so its gradient lands one step late;
 * here it is part of the step's loss.
 */
export function withFusionRegularization(target: HostLike, loss: Tensor): Tensor {
  const reg = fusionRegularizationLoss(target);
  if (!reg) return loss;
  const total = add(loss, reg);
  reg.dispose();
  return total;
}

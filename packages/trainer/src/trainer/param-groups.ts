import { LayerNorm, RMSNorm, type Module, type Parameter } from '@adapterkit/core';

/** Name patterns HF excludes from weight decay (`get_decay_parameter_names`), matched on the lower-cased name. */
const NO_DECAY_PATTERNS = [/bias/, /layernorm/, /rmsnorm/, /(?:^|\.)norm(?:$|\.)/, /_norm(?:$|\.)/];

/**
 * Fusion value matrices are meant to be excluded from decay. Python's
 * AdapterTrainer tries with re.match (anchored at the start), which never
 * matches real names (quirk Q15); here the pattern is searched anywhere, so
 * the intended exclusion happens.
 */
const FUSION_VALUE = /adapter_fusion_layer\..*\.value/;

/**
 * Names of parameters that get weight decay, as HF's Trainer: everything
 * except parameters owned by LayerNorm/RMSNorm modules and names matching
 * bias / layernorm / rmsnorm / norm.
 */
export function decayParameterNames(model: Module): Set<string> {
  const out = new Set<string>();
  for (const [modName, m] of model.namedModules()) {
    const isNorm = m instanceof LayerNorm || m instanceof RMSNorm;
    for (const [local, p] of m.namedParameters()) {
      if (local.includes('.')) continue; // only the module's own parameters here
      const full = modName ? `${modName}.${local}` : local;
      void p;
      const lower = full.toLowerCase();
      if (isNorm || NO_DECAY_PATTERNS.some((re) => re.test(lower)) || FUSION_VALUE.test(full)) continue;
      out.add(full);
    }
  }
  return out;
}

/** The two AdamW parameter groups of HF's Trainer, trainable parameters only. */
export interface ParamGroups {
  decay: [string, Parameter][];
  noDecay: [string, Parameter][];
}

/** Splits the trainable parameters into the decay / no-decay groups (model order kept). */
export function trainerParamGroups(model: Module): ParamGroups {
  const decayNames = decayParameterNames(model);
  const groups: ParamGroups = { decay: [], noDecay: [] };
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    (decayNames.has(name) ? groups.decay : groups.noDecay).push([name, p]);
  }
  return groups;
}

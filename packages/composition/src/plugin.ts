import { registerCompositionPlugin, type CompositionPlugin } from '@adapterkit/core';
import { addAdapterFusion, deleteAdapterFusion, fusionRegularizationLoss, trainAdapterFusion } from './fusion/api.js';
import { loadAdapterFusion, saveAdapterFusion, saveAllAdapterFusions } from './fusion/files.js';
import { loadAdapterSetup, saveAdapterSetup } from './setup-files.js';

/** What this package provides to the models' fusion and setup API (core's composition-plugin.ts). */
export const compositionPluginImpl: CompositionPlugin = {
  addAdapterFusion: (host, fusion, config, opts) => addAdapterFusion(host, fusion, config, opts),
  deleteAdapterFusion: (host, fusion) => deleteAdapterFusion(host, fusion),
  trainAdapterFusion: (host, setup, opts) => trainAdapterFusion(host, setup, opts),
  saveAdapterFusion: (host, dir, fusion, opts) => saveAdapterFusion(host, dir, fusion, opts),
  loadAdapterFusion: (host, dir, opts) => loadAdapterFusion(host, dir, opts),
  saveAllAdapterFusions: (host, dir, opts) => saveAllAdapterFusions(host, dir, opts),
  saveAdapterSetup: (model, dir, setup, opts) => saveAdapterSetup(model, dir, setup, opts),
  loadAdapterSetup: (model, dir, opts) => loadAdapterSetup(model, dir, opts),
  // @adapterkit/trainer adds it to the loss while a fusion trains.
  fusionRegularizationLoss: (host) => fusionRegularizationLoss(host),
};

/** Registers the plugin with core (idempotent). */
export function registerFusionApi(): void {
  registerCompositionPlugin(compositionPluginImpl);
}

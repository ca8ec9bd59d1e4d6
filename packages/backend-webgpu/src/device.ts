/**
 * Finding a GPUDevice: `navigator.gpu` in browsers (and in Deno / Node ≥ 21
 * builds that expose it), the `webgpu` package (Dawn) in Node.
 */

/**
 * The GPU object Dawn's `create()` returned. It must stay reachable for the
 * whole process: when it is garbage collected Dawn tears the instance down
 * under live devices and the process crashes. Kept in module scope forever.
 */
let dawnGpu: GPU | null = null;
let dawnLoading: Promise<GPU> | null = null;

export interface GpuOptions {
  /** Extra Dawn toggles/flags for `create()` in Node (e.g. ['enable-dawn-features=allow_unsafe_apis']). */
  dawnFlags?: string[];
}

function browserGpu(): GPU | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? null;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/** The process-wide GPU entry point (loads Dawn once in Node). */
export async function getGpu(opts: GpuOptions = {}): Promise<GPU> {
  const nav = browserGpu();
  if (nav) return nav;
  if (dawnGpu) return dawnGpu;
  if (!isNode()) throw new Error('webgpu: navigator.gpu is not available in this environment (WebGPU disabled or unsupported browser)');
  if (!dawnLoading) {
    dawnLoading = (async () => {
      // A computed specifier keeps browser bundlers from trying to resolve the Node-only package.
      const specifier = 'webgpu';
      let mod: { create(flags: string[]): GPU };
      try {
        mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
      } catch (e) {
        throw new Error(
          "webgpu: WebGPU in Node needs the optional peer dependency 'webgpu' (Dawn); install it with `pnpm add webgpu`" +
            ` (${(e as Error).message})`,
        );
      }
      dawnGpu = mod.create(opts.dawnFlags ?? []);
      return dawnGpu;
    })();
    dawnLoading.catch(() => {
      dawnLoading = null;
    });
  }
  return dawnLoading;
}

/** Limits worth raising to the adapter's maximum for compute work. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface DeviceRequest extends GpuOptions {
  adapter?: GPUAdapter;
  powerPreference?: GPUPowerPreference;
}

/** Requests an adapter (unless given) and a device with raised compute limits. */
export async function requestDevice(opts: DeviceRequest = {}): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  let adapter = opts.adapter ?? null;
  if (!adapter) {
    const gpu = await getGpu(opts);
    adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
    if (!adapter) {
      throw new Error(
        'webgpu: no GPU adapter found' +
          (isNode() ? ' (in Node, Dawn needs a Vulkan driver; on Debian/Ubuntu install mesa-vulkan-drivers for the lavapipe software adapter)' : ''),
      );
    }
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredLimits });
  return { adapter, device };
}

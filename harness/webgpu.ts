// WebGPU through Dawn (npm `webgpu`): Node has no navigator.gpu, so the binding's GPU object and its
// constants (GPUBufferUsage, ...) are put where @tensorflow/tfjs-backend-webgpu looks for them, before it is
// imported. Dawn needs a Vulkan driver: the GPU vendor's, or Mesa's lavapipe (a software adapter) on CPU
// machines (../shared/gpu/lavapipe.sh). The adapter's facts go into the manifest and every record.
// tfjs-backend-webgpu asks its device for timestamp queries only; the adapters handed out here add
// DEVICE_FEATURES where the adapter offers them (the subgroup matmul of architectures/ops/matmul needs
// `subgroups`).

/** What a run records of the adapter it ran on. */
export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn's description: driver name and version. */
  description: string;
  /** A CPU implementation of WebGPU (lavapipe/llvmpipe, SwiftShader): correct, but no GPU figure. */
  software: boolean;
  features: string[];
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number;
            maxComputeInvocationsPerWorkgroup: number; subgroupMinSize?: number; subgroupMaxSize?: number };
}

interface DawnAdapterInfo { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean;
                            subgroupMinSize?: number; subgroupMaxSize?: number }
interface DeviceDescriptor { requiredFeatures?: Iterable<string> }
interface DawnAdapter { info: DawnAdapterInfo; features: ReadonlySet<string>; limits: Record<string, number>;
                        requestDevice(d?: DeviceDescriptor): Promise<unknown> }
interface DawnGpu { requestAdapter(o: { powerPreference: string }): Promise<DawnAdapter | null> }

/** Optional features every device requested through Dawn here gets, where its adapter offers them. */
const DEVICE_FEATURES = ['subgroups'];

/** The adapter, its requestDevice adding DEVICE_FEATURES that it offers to those asked for. */
function withDeviceFeatures(adapter: DawnAdapter): DawnAdapter {
  const request = adapter.requestDevice.bind(adapter);
  adapter.requestDevice = (d = {}) => request({
    ...d, requiredFeatures: [...new Set([...(d.requiredFeatures ?? []), ...DEVICE_FEATURES.filter((f) => adapter.features.has(f))])],
  });
  return adapter;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

let started: Promise<AdapterFacts> | null = null;

/** Start Dawn once per process and describe the high-performance adapter; throws when there is none. */
export function startDawn(): Promise<AdapterFacts> {
  started ??= (async () => {
    const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): DawnGpu; globals: Record<string, unknown> };
    Object.assign(globalThis, globals);
    const dawn = create([]);
    const gpu: DawnGpu = { requestAdapter: async (o) => { const a = await dawn.requestAdapter(o); return a && withDeviceFeatures(a); } };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('Dawn found no WebGPU adapter (no Vulkan driver: install the GPU vendor\'s, or lavapipe)');
    return adapterFacts(adapter);
  })();
  started.catch(() => { started = null; });
  return started;
}

function adapterFacts(a: DawnAdapter): AdapterFacts {
  const i = a.info, l = a.limits;
  return {
    vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    software: Boolean(i.isFallbackAdapter) || SOFTWARE.test(`${i.architecture} ${i.device} ${i.description}`),
    features: [...a.features].sort(),
    limits: {
      maxBufferSize: l.maxBufferSize!, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize!, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup!,
      subgroupMinSize: i.subgroupMinSize, subgroupMaxSize: i.subgroupMaxSize,
    },
  };
}

/** One line for logs and records: 'nvidia nvidia-h200 (NVIDIA 580.x)'. */
export const adapterLabel = (f: AdapterFacts): string =>
  `${f.vendor} ${f.device} (${f.description}${f.software ? '; software adapter' : ''})`;

// WebGPU through Dawn (npm `webgpu`): Node has no navigator.gpu, so the binding's GPU object and its
// constants (GPUBufferUsage, ...) are put where @tensorflow/tfjs-backend-webgpu looks for them, before it is
// imported. Dawn needs a Vulkan driver: the GPU vendor's, or Mesa's lavapipe (a software adapter) on CPU
// machines (../shared/gpu/lavapipe.sh). The adapter's facts go into the manifest and every record.
// tfjs-backend-webgpu asks its device for timestamp queries only; the adapters handed out here add
// DEVICE_FEATURES where the adapter offers them (the subgroup matmul of architectures/ops/matmul needs
// `subgroups`).
// Every tfjs-webgpu dispatch makes a GPUBindGroup, which Dawn frees only after V8 has collected its small JS
// wrapper and a later queue submission has run; V8 sees no memory pressure from them and rarely collects
// them. On lavapipe each live bind group's descriptor set is a 4 KiB memfd mapping, so a long run of small
// ops (the latent suite) passed vm.max_map_count (65,530 mappings), lavapipe's mmap failed and Dawn wrote
// through MAP_FAILED: a segmentation fault. releaseBindGroups() bounds them; loops of many small steps
// await it (see suites/latent).
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

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
interface DawnDevice { createBindGroup(d: unknown): unknown; queue: { submit(buffers: unknown[]): void; onSubmittedWorkDone(): Promise<void> } }
interface DawnAdapter { info: DawnAdapterInfo; features: ReadonlySet<string>; limits: Record<string, number>;
                        requestDevice(d?: DeviceDescriptor): Promise<DawnDevice> }
interface DawnGpu { requestAdapter(o: { powerPreference: string }): Promise<DawnAdapter | null> }

/** Optional features every device requested through Dawn here gets, where its adapter offers them. */
const DEVICE_FEATURES = ['subgroups'];

/** The adapter, its requestDevice adding DEVICE_FEATURES that it offers to those asked for; its devices count their bind groups. */
function withDeviceFeatures(adapter: DawnAdapter): DawnAdapter {
  const request = adapter.requestDevice.bind(adapter);
  adapter.requestDevice = async (d = {}) => countingBindGroups(await request({
    ...d, requiredFeatures: [...new Set([...(d.requiredFeatures ?? []), ...DEVICE_FEATURES.filter((f) => adapter.features.has(f))])],
  }));
  return adapter;
}

/** Bind groups made since the last release, per device. */
const bindGroupsSinceRelease = new Map<DawnDevice, number>();

function countingBindGroups(device: DawnDevice): DawnDevice {
  const create = device.createBindGroup.bind(device);
  bindGroupsSinceRelease.set(device, 0);
  device.createBindGroup = (d) => {
    bindGroupsSinceRelease.set(device, bindGroupsSinceRelease.get(device)! + 1);
    return create(d);
  };
  return device;
}

/** Bind groups a device may make before releaseBindGroups() frees the unreachable ones (4,096 x 4 KiB on lavapipe). */
export const BIND_GROUP_RELEASE_EVERY = 4096;

let collect: (() => void) | null = null;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Frees the bind groups no longer reachable, once a device has made BIND_GROUP_RELEASE_EVERY since the last
 * time: two full collections, each followed by an event-loop turn (the binding's finalizers run there),
 * then a submission for Dawn to free them. Values are untouched; where no webgpu device exists it returns.
 */
export async function releaseBindGroups(): Promise<void> {
  for (const [device, made] of bindGroupsSinceRelease) {
    if (made < BIND_GROUP_RELEASE_EVERY) continue;
    if (!collect) {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
    for (let i = 0; i < 2; i++) { collect(); await nextTurn(); }
    device.queue.submit([]);
    await device.queue.onSubmittedWorkDone();
    bindGroupsSinceRelease.set(device, 0);
  }
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

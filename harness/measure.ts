// Measurement: peaks of tf.memory().numBytes and process RSS, sampled where memory is at its highest
// (after a forward, after the gradients), and the machine's description for manifests.
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';

export class PeakMeter {
  tensorBytes = 0;
  rssBytes = 0;
  sample(): void {
    this.tensorBytes = Math.max(this.tensorBytes, tf.memory().numBytes);
    this.rssBytes = Math.max(this.rssBytes, process.memoryUsage().rss);
  }
}

/** GPUs straight from nvidia-smi (si.graphics() only reports GPUs that lspci matches). */
export function nvidiaGpus(): Record<string, string>[] {
  const fields = ['name', 'memory.total', 'driver_version', 'pci.bus_id'];
  try {
    const out = execFileSync('nvidia-smi', [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader'], {
      timeout: 5000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim().split('\n').filter(Boolean).map((line) => {
      const vals = line.split(',').map((s) => s.trim());
      return Object.fromEntries(fields.map((f, i) => [f, vals[i] ?? '']));
    });
  } catch {
    return [];
  }
}

export interface MachineInfo {
  cpu: { brand: string; cores: number; physicalCores: number; speedGHz: number; flags: string };
  memBytes: number;
  os: string;
  gpus: Record<string, string>[];
}

export async function machineInfo(): Promise<MachineInfo> {
  const si = await import('systeminformation');
  const [cpu, mem, os, flags] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.cpuFlags()]);
  return {
    cpu: { brand: `${cpu.manufacturer} ${cpu.brand}`, cores: cpu.cores, physicalCores: cpu.physicalCores, speedGHz: cpu.speed, flags },
    memBytes: mem.total,
    os: `${os.distro} ${os.release} ${os.arch}`,
    gpus: nvidiaGpus(),
  };
}

/** Short description of the machine for figures: "cpu brand xN, backend". */
export function machineLabel(m: MachineInfo): string {
  return `${m.cpu.brand.trim()} x${m.cpu.cores}${m.gpus.length ? `, ${m.gpus.map((g) => g.name).join('+')}` : ''}`;
}

// Phase timings of the labels stage on stderr with CYTOIMAGENET_DEBUG=1: what to look at when a
// catalog is slow. Per phase: wall time, CPU of the whole process (DuckDB's threads included),
// CPU of the JS thread alone (Linux), and fresh memory pages touched (each costs a page fault;
// on some virtual machines these add up to seconds).
import { readFileSync } from 'node:fs';

function jsThreadCpu(): number {
  try {
    // utime and stime, fields 14 and 15, after the parenthesised command name.
    const f = readFileSync('/proc/thread-self/stat', 'latin1');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** With CYTOIMAGENET_DEBUG=1: the time from process start (node, module loading, options) to now. */
export function debugProcessStart(): void {
  if (process.env.CYTOIMAGENET_DEBUG)
    process.stderr.write(`labels: process start ${(performance.now() / 1000).toFixed(2)} s (node, modules, options)\n`);
}

export function debugClock(): (what: string) => void {
  if (!process.env.CYTOIMAGENET_DEBUG) return () => undefined;
  let t = performance.now();
  let cpu = process.cpuUsage();
  let js = jsThreadCpu();
  let faults = process.resourceUsage().minorPageFault;
  return (what) => {
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    const jsNow = jsThreadCpu();
    const faultsNow = process.resourceUsage().minorPageFault;
    process.stderr.write(
      `labels: ${what} ${((now - t) / 1000).toFixed(2)} s (CPU ${((used.user + used.system) / 1e6).toFixed(2)} s, ` +
        `JS thread ${(jsNow - js).toFixed(2)} s, ${faultsNow - faults} page faults)\n`,
    );
    t = now;
    cpu = process.cpuUsage();
    js = jsNow;
    faults = faultsNow;
  };
}

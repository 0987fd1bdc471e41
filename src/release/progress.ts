// Feedback while workers run: a cli-progress bar with rate and ETA on a terminal, a line every
// 10 % otherwise (logs of unattended runs). Both count rejected image sets, and in a distributed
// build the image sets each worker host ran.
import cliProgress from 'cli-progress';

export interface Progress {
  /** One image set done; `failed` when it was rejected, `host` when a queue worker ran it. */
  tick(failed?: boolean, host?: string): void;
  /** Bytes fetched from remote sources, shown beside the count once there are any. */
  fetched(bytes: number): void;
  stop(): void;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

function megabytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export function makeProgress(total: number, already: number, enabled: boolean, log: (line: string) => void): Progress {
  const start = Date.now();
  let done = already;
  let failed = 0;
  let bytes = 0;
  const fetched = (b: number): void => {
    bytes += b;
  };
  const hosts = new Map<string, number>();
  const count = (f?: boolean, host?: string): void => {
    done++;
    if (f) failed++;
    if (host !== undefined) hosts.set(host, (hosts.get(host) ?? 0) + 1);
  };
  const extra = (): string =>
    `${failed} rejected${
      hosts.size > 0
        ? ` | ${[...hosts]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([h, n]) => `${h} ${n}`)
            .join(', ')}`
        : ''
    }${bytes > 0 ? ` | ${megabytes(bytes)} fetched` : ''}`;
  const rate = (): number => (done - already) / Math.max(1e-3, (Date.now() - start) / 1000);
  if (!enabled || total === 0) return { tick: count, fetched, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: 'build |{bar}| {percentage}% | {value}/{total} image sets | {rate}/s | ETA {etaText} | {extra}',
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, already, { rate: '0.0', etaText: '--', extra: extra() });
    return {
      tick: (f, host) => {
        count(f, host);
        const r = rate();
        bar.update(done, { rate: r.toFixed(1), etaText: eta((total - done) / r), extra: extra() });
      },
      fetched,
      stop: () => bar.stop(),
    };
  }
  let nextReport = Math.ceil(total / 10);
  return {
    tick: (f, host) => {
      count(f, host);
      if (done >= nextReport || done === total) {
        const r = rate();
        log(
          `build: ${done}/${total} image sets (${Math.round((100 * done) / total)} %), ${r.toFixed(1)}/s, ETA ${eta((total - done) / r)}, ${extra()}`,
        );
        nextReport = done + Math.ceil(total / 10);
      }
    },
    fetched,
    stop: () => undefined,
  };
}

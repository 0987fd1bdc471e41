// `cytoimagenet train`: pretrain EfficientNetB0 on a release with the LibTorch addon.
// Thin: parse and validate options, show progress, call train().
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { TRAIN } from '../defaults.js';
import { KERNELS, PRECISIONS } from '../train/engine.js';
import { parseLabelsSubset } from '../train/release.js';
import { train, type TrainProgress } from '../train/train.js';
import { toolVersion } from '../util/tool-version.js';
import { runAction } from './run-action.js';

const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const cliSchema = z.object({
  release: z.string().min(1, '--release needs a folder'),
  out: z.string().min(1, '--out needs a folder'),
  epochs: int('--epochs', 1, 100_000),
  size: int('--size', 32, 1024),
  batchSize: int('--batch-size', 1, 4096),
  lr: z
    .string()
    .transform(Number)
    .refine((n) => Number.isFinite(n) && n > 0, '--lr must be a positive number'),
  seed: int('--seed', 0, 2 ** 31 - 1),
  labelsSubset: z.string().optional(),
  init: z.string().min(1).optional(),
  resume: z.boolean().optional(),
  threads: int('--threads', 1, 1024).optional(),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, '--device must be cpu, cuda or cuda:N'),
  kernels: z.enum(KERNELS, { message: '--kernels must be own or libtorch' }),
  precision: z.enum(['auto', ...PRECISIONS], { message: '--precision must be auto, float32 or mixed_bfloat16' }),
  prefetch: int('--prefetch', 0, 16),
  loaderThreads: int('--loader-threads', 0, 1024).optional(),
  keepCheckpoints: int('--keep-checkpoints', 1, 1000),
  checkpointEvery: int('--checkpoint-every', 0, Number.MAX_SAFE_INTEGER),
});

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

function progressReporter(): { update: (p: TrainProgress) => void; stop: () => void; log: (line: string) => void } {
  const tty = Boolean(process.stderr.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          // Most important first: a narrow terminal cuts the line from the right.
          format:
            'epoch {epoch}/{epochs} {phase} {bar} {value}/{total} ETA {left} | {ips} images/s | loss {loss} top-1 {top1}',
          barsize: 20,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let current = '';
  return {
    update(p) {
      const payload = {
        epoch: p.epoch,
        epochs: p.epochs,
        phase: p.phase === 'train' ? 'train' : 'val  ',
        loss: Number.isFinite(p.loss) ? p.loss.toFixed(3) : '-',
        top1: Number.isFinite(p.top1) ? `${(p.top1 * 100).toFixed(1)}%` : '-',
        ips: p.imagesPerSecond.toFixed(1),
        left: duration(p.etaSeconds),
      };
      if (bar) {
        const key = `${p.epoch}-${p.phase}`;
        if (key !== current) {
          if (current) bar.stop();
          bar.start(p.steps, p.step, payload);
          current = key;
        } else bar.update(p.step, payload);
        return;
      }
      // Not a terminal (a log file): one line every ~10 % of the epoch and at its end.
      const every = Math.max(1, Math.floor(p.steps / 10));
      if (p.phase === 'train' && (p.step % every === 0 || p.step === p.steps)) {
        process.stderr.write(
          `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${payload.loss} top-1 ${payload.top1} ${payload.ips} images/s ETA ${payload.left}\n`,
        );
      }
    },
    stop() {
      if (bar && current) bar.stop();
      current = '';
    },
    log(line) {
      if (bar && current) {
        bar.stop();
        current = '';
      }
      process.stderr.write(`${line}\n`);
    },
  };
}

export function register(program: Command): void {
  program
    .command('train')
    .description(
      "Pretrain EfficientNetB0 from scratch on a release (the spec's settings: Adam lr 0.001, batch 64, 224×224, random 0–360° rotations with reflected borders, the release's train/val split). Needs LibTorch and the training addon (see docs/train.md).",
    )
    .requiredOption('--release <dir>', 'release folder (from `cytoimagenet build`), read through its metadata.csv')
    .requiredOption('--out <dir>', 'run folder: history, checkpoints, backbone')
    .option('--epochs <n>', 'epochs to train (in total, counting resumed ones)', String(TRAIN.epochs))
    .option('--size <px>', 'images are resized to size×size', String(TRAIN.size))
    .option('--batch-size <n>', 'images per step', String(TRAIN.batchSize))
    .option('--lr <x>', 'Adam learning rate', String(TRAIN.learningRate))
    .option(
      '--labels-subset <file|list>',
      'train on these labels only: a file (one per line, or a CSV with a label column) or a comma list',
    )
    .option('--seed <n>', 'seed of the init, shuffling, rotations and dropout', '0')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option(
      '--init <file.h5>',
      'start the backbone from a Keras EfficientNetB0 .h5 (no-top or full); the classifier is new',
    )
    .option('--threads <n>', 'LibTorch threads (default: all cores)')
    .option('--device <cpu|cuda[:N]>', 'where to train; cuda needs the addon built against a CUDA LibTorch', 'cpu')
    .option(
      '--kernels <own|libtorch>',
      "CPU kernels: own (fused BatchNorm+swish, squeeze-excitation, depthwise weight gradient) or LibTorch's alone",
      'own',
    )
    .option(
      '--precision <auto|float32|mixed_bfloat16>',
      'step arithmetic: mixed_bfloat16 runs the 1×1 and depthwise convolutions in bfloat16 (weights, statistics and evaluation stay float32); auto picks it on CPUs with bfloat16 dot products, and a resumed run keeps its own',
      'auto',
    )
    .option('--prefetch <n>', 'batches loaded ahead of the step', '1')
    .option('--loader-threads <n>', 'threads that decode and rotate images (default: one per core; 0: the main thread)')
    .option(
      '--checkpoint-every <steps>',
      'also checkpoint every this many steps inside an epoch (0: epoch ends only)',
      '1000',
    )
    .option('--keep-checkpoints <n>', 'newest checkpoints kept', '2')
    .action(
      runAction(async (raw: Record<string, unknown>) => {
        const o = cliSchema.parse(raw);
        const reporter = progressReporter();
        try {
          const r = await train({
            release: o.release,
            out: o.out,
            epochs: o.epochs,
            size: o.size,
            batchSize: o.batchSize,
            learningRate: o.lr,
            seed: o.seed,
            labelsSubset: o.labelsSubset ? parseLabelsSubset(o.labelsSubset) : undefined,
            resume: o.resume,
            init: o.init,
            threads: o.threads,
            device: o.device,
            kernels: o.kernels,
            precision: o.precision,
            prefetch: o.prefetch,
            loaderThreads: o.loaderThreads,
            keepCheckpoints: o.keepCheckpoints,
            checkpointEvery: o.checkpointEvery,
            toolVersion: toolVersion(),
            onProgress: reporter.update,
            log: reporter.log,
          });
          reporter.stop();
          const last = r.history.at(-1);
          process.stdout.write(
            `Trained ${r.history.length} epoch(s) on ${r.classes.length} labels` +
              (last
                ? ` (last: loss ${last.train_loss.toFixed(4)}, top-1 ${(last.train_top1 * 100).toFixed(2)}%${last.val_top1 !== null ? `, val top-1 ${(last.val_top1 * 100).toFixed(2)}%` : ''})`
                : '') +
              `.\nWrote ${r.out}/{history.csv, history.svg, history.png, classes.csv, checkpoints/} and the backbone ${r.backbone} (use it with \`cytoimagenet features --model\`).\n`,
          );
        } finally {
          reporter.stop();
        }
      }),
    );
}

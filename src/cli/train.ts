// `cytoimagenet train`: pretrain EfficientNetB0 on a release with the LibTorch addon.
// Thin: its flags are the train options schema (src/train/options.ts; train() validates them),
// it shows progress and calls train().
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { trainOptionsSchema } from '../train/options.js';
import { train, type TrainOptions, type TrainProgress } from '../train/train.js';
import { toolVersion } from '../util/tool-version.js';
import { addOptions, optionValues } from './options.js';
import { runAction } from './run-action.js';

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
  const cmd = program
    .command('train')
    .description(
      "Pretrain EfficientNetB0 from scratch on a release (the spec's settings: Adam lr 0.001, batch 64, 224×224, random 0–360° rotations with reflected borders, the release's train/val split). Needs LibTorch and the training addon (see docs/train.md).",
    );
  addOptions(cmd, trainOptionsSchema).action(
    runAction(async (raw: Record<string, unknown>) => {
      const reporter = progressReporter();
      try {
        const r = await train({
          ...(optionValues(raw, trainOptionsSchema) as unknown as TrainOptions),
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

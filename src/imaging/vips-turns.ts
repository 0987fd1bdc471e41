// libvips keeps one error buffer per process, and sharp clears it whenever any operation ends, so
// a decode that fails while another operation finishes can lose its message ("Unknown error"
// instead of "libpng read error"). Messages go into rejects.csv, which must not depend on timing:
// operations normally run side by side (shared), and a failed decode is redone alone.
let shared = 0;
let alone = false;
const waiting: Array<{ alone: boolean; go: () => void }> = [];

function admit(): void {
  while (waiting.length > 0 && !alone) {
    const next = waiting[0];
    if (next.alone) {
      if (shared > 0) return;
      waiting.shift();
      alone = true;
      next.go();
      return;
    }
    waiting.shift();
    shared++;
    next.go();
  }
}

/** Run a libvips operation; others may run at the same time, unless one runs alone. */
export async function vipsShared<T>(op: () => Promise<T>): Promise<T> {
  if (alone || waiting.length > 0) {
    await new Promise<void>((go) => {
      waiting.push({ alone: false, go });
      admit();
    });
  } else shared++;
  try {
    return await op();
  } finally {
    shared--;
    admit();
  }
}

/** Run libvips work with no other libvips operation of this process in flight (op must not call vipsShared). */
export async function vipsAlone<T>(op: () => Promise<T>): Promise<T> {
  await new Promise<void>((go) => {
    waiting.push({ alone: true, go });
    admit();
  });
  try {
    return await op();
  } finally {
    alone = false;
    admit();
  }
}

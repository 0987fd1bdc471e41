// Prints the LibTorch include or library folders for binding.gyp. Debian/Ubuntu's libtorch-dev by
// default; CYTOIMAGENET_LIBTORCH=/path/to/libtorch (a LibTorch zip: include/ and lib/) overrides.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = process.env.CYTOIMAGENET_LIBTORCH;
const what = process.argv[2];

/** Linker flags: the CPU libraries, plus the CUDA ones when this LibTorch has them. */
function libs(libdir) {
  const names = ['torch', 'torch_cpu', 'c10'];
  for (const cuda of ['torch_cuda', 'c10_cuda']) if (existsSync(join(libdir, `lib${cuda}.so`))) names.push(cuda);
  return names.map((n) => `-l${n}`).join(' ');
}

function fail(msg) {
  process.stderr.write(`cytoimagenet native build: ${msg}\n`);
  process.exit(1);
}

if (root) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) {
    fail(`CYTOIMAGENET_LIBTORCH=${root} has no include/torch/csrc/api/include/torch/torch.h`);
  }
  if (what === 'include') process.stdout.write(`${inc} ${join(inc, 'torch', 'csrc', 'api', 'include')}`);
  else if (what === 'libdir') process.stdout.write(lib);
  else if (what === 'libs') process.stdout.write(libs(lib));
  else fail(`unknown query ${what}`);
} else {
  const api = '/usr/include/torch/csrc/api/include';
  if (!existsSync(join(api, 'torch', 'torch.h'))) {
    fail(
      'LibTorch not found: install it with `apt-get install libtorch-dev libopenblas0-pthread` ' +
        '(Debian/Ubuntu), or unzip a LibTorch release and set CYTOIMAGENET_LIBTORCH=/path/to/libtorch',
    );
  }
  const multiarch =
    ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].find((d) =>
      existsSync(join(d, 'libtorch.so')),
    ) ?? '/usr/lib';
  if (what === 'include') process.stdout.write(api);
  else if (what === 'libdir') process.stdout.write(multiarch);
  else if (what === 'libs') process.stdout.write(libs(multiarch));
  else fail(`unknown query ${what}`);
}

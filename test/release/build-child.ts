// A child process that runs buildRelease with options from CYTOIMAGENET_BUILD_CHILD (JSON), for the
// kill -9 tests (lighter to start than the whole CLI). Without that variable it does nothing, so
// the test runner can load it harmlessly.
import { buildRelease, type BuildOptions } from '../../src/release/build-release.js';

const raw = process.env.CYTOIMAGENET_BUILD_CHILD;
if (raw) await buildRelease({ ...(JSON.parse(raw) as BuildOptions), progress: false });

import type { Command } from 'commander';

// Placeholder until the train stage lands: registers nothing yet.
export function register(_program: Command): void {}

import type { Command } from 'commander';

// Placeholder until the describe stage lands: registers nothing yet.
export function register(_program: Command): void {}

// The shipped registry: one YAML file per source dataset of CytoImageNet (registry/<dir_name>.yaml,
// docs/sources.md). Each entry says what the dataset is, its licence and citation, where to get
// the files, the layout expected under ROOT/<dir_name>/, and under `source` an ordinary adapter
// config whose relative paths resolve against ROOT/<dir_name>/ instead of the YAML's own folder.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { readConfigFile, validateConfig, type RawConfig } from './config-file.js';
import { adapterByName, ADAPTER_NAMES } from './registry.js';
import type { CommonConfig } from './adapter.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The shipped registry folder (dist/src/sources → ../../../registry; also from src/sources). */
export function registryDir(): string {
  for (const c of [resolve(here, '..', '..', '..', 'registry'), resolve(here, '..', '..', 'registry')]) {
    if (existsSync(c) && statSync(c).isDirectory()) return c;
  }
  throw new UserError('the shipped registry folder is missing', { file: resolve(here, '..', '..', '..', 'registry') });
}

const DirName = z.string().regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _ only');

export const registryEntrySchema = z
  .object({
    dir_name: DirName,
    database: z.string().min(1),
    name: z.string().min(1),
    /** One or two sentences: what the images show. */
    description: z.string().min(1),
    homepage: z.url(),
    licence: z.string().min(1),
    citation: z.string().min(1),
    /** false: catalogued but not part of CytoImageNet's 40 (bbbc021 is for evaluation only). */
    in_cytoimagenet: z.boolean().default(true),
    organism: z.string().min(1),
    microscopy: z.string().min(1),
    /** The original's row unit and merge rule (spec §3), in words. */
    row_unit: z.string().min(1),
    /** Which columns the labels come from, and the labels it contributed where the spec says. */
    labels: z.string().min(1),
    /** Image sets (rows) the original's catalogue or the spec gives, or null if unknown. */
    expected_image_sets: z.number().int().positive().nullable(),
    get: z
      .object({
        /** Download URLs or commands (from the original's catalogue), in order. */
        download: z.array(z.string().min(1)),
        /** What to do with them, in words (unpacking, renaming). */
        how: z.string().min(1),
      })
      .strict(),
    layout: z
      .object({
        /** Paths under ROOT/<dir_name>/ that must all exist for the dataset to count as present. */
        required: z.array(z.string().min(1)).min(1),
        /** Example file names, relative to ROOT/<dir_name>/. */
        examples: z.array(z.string().min(1)).min(1),
      })
      .strict(),
    /**
     * Where the files already live (an OME-Zarr or bucket URL) for reading in place, once sources
     * can be read from there; null until then, and always optional.
     */
    location: z.string().min(1).nullable().default(null),
    /** What the config language cannot yet express (so the rows differ from the original's). */
    caveats: z.string().min(1).optional(),
    /** An ordinary adapter config; relative paths resolve against ROOT/<dir_name>/. */
    source: z.looseObject({ adapter: z.string() }),
    /** Synonym tables shipped beside this file (per-source code → label rules), applied after the shipped one. */
    synonyms: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type RegistryEntry = z.infer<typeof registryEntrySchema> & { file: string };

export interface LoadedEntry {
  entry: RegistryEntry;
  raw: RawConfig;
}

/** Reads and validates one registry file, its `source` included (by its adapter's schema). */
export function loadRegistryFile(file: string): LoadedEntry {
  const raw = readConfigFile(file);
  const entry = { ...validateConfig(raw, registryEntrySchema, 'registry'), file } as RegistryEntry;
  const expected = `${entry.dir_name}.yaml`;
  if (!file.endsWith(expected))
    throw new UserError(`a registry file is named after its dir_name: expected ${expected}`, {
      file,
      line: raw.lineOf(['dir_name']),
      column: 'dir_name',
    });
  const adapter = adapterByName(entry.source.adapter);
  if (!adapter)
    throw new UserError(
      `unknown adapter '${entry.source.adapter}'`,
      { file, line: raw.lineOf(['source', 'adapter']), column: 'source.adapter' },
      `expected one of: ${ADAPTER_NAMES.join(', ')}`,
    );
  const sub = sourceRaw(raw, entry);
  validateConfig(sub, adapter.schema, `'${adapter.name}' source`);
  return { entry, raw };
}

/** The `source` part as a config of its own; line numbers still point into the registry file. */
function sourceRaw(raw: RawConfig, entry: RegistryEntry): RawConfig {
  const data = { dir_name: entry.dir_name, database: entry.database, name: entry.name, ...entry.source };
  if (!('licence' in entry.source)) (data as CommonConfig).licence = entry.licence;
  if (!('citation' in entry.source)) (data as CommonConfig).citation = entry.citation;
  return { file: raw.file, data, lineOf: (p) => raw.lineOf(['source', ...p]) ?? raw.lineOf(['source']) };
}

/** Every shipped entry, sorted by dir_name. Any invalid file is a UserError. */
export function loadRegistry(dir: string = registryDir()): RegistryEntry[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const out = files.map((f) => loadRegistryFile(join(dir, f)).entry);
  const seen = new Set<string>();
  for (const e of out) {
    if (seen.has(e.dir_name)) throw new UserError(`dir_name '${e.dir_name}' appears twice`, { file: e.file });
    seen.add(e.dir_name);
  }
  return out;
}

/** Entries by name; 'all' = every dataset of CytoImageNet (not the evaluation-only ones). */
export function selectEntries(names: readonly string[], all: readonly RegistryEntry[]): RegistryEntry[] {
  if (names.length === 1 && names[0] === 'all') return all.filter((e) => e.in_cytoimagenet);
  return names.map((n) => {
    const e = all.find((x) => x.dir_name === n.toLowerCase());
    if (!e)
      throw new UserError(
        `no dataset '${n}' in the registry`,
        {},
        `run 'cytoimagenet sources list' to see the ${all.length} names, or give 'all'`,
      );
    return e;
  });
}

export type Presence = 'present' | 'partly present' | 'missing';

/** Whether ROOT/<dir_name>/ holds the dataset: every required path, some of them, or none. */
export function presenceUnder(root: string, e: RegistryEntry): Presence {
  const base = join(root, e.dir_name);
  if (!existsSync(base)) return 'missing';
  const have = e.layout.required.filter((p) => {
    const abs = join(base, p);
    if (!existsSync(abs)) return false;
    return !statSync(abs).isDirectory() || readdirSync(abs).length > 0;
  }).length;
  return have === e.layout.required.length ? 'present' : have === 0 ? 'missing' : 'partly present';
}

/** A registry entry's source, ready for ingestSources (src/catalog/ingest.ts, ConfigInput). */
export interface RegistrySource {
  raw: RawConfig;
  configDir: string;
}

/**
 * The entry's source as a config to ingest from ROOT: data (with dir_name, database, name,
 * licence and citation filled in), the folder its paths resolve against, and line numbers into
 * the registry file. The entry's synonym tables become absolute paths beside the registry file.
 */
export function registrySource(e: RegistryEntry, root: string): RegistrySource {
  const { raw } = loadRegistryFile(e.file);
  const sub = sourceRaw(raw, e);
  const synonyms = (e.synonyms ?? []).map((s) => resolve(dirname(e.file), s));
  if (synonyms.length) (sub.data as CommonConfig).synonyms = synonyms;
  return { raw: sub, configDir: resolve(root, e.dir_name) };
}

/**
 * The registry entries to ingest from `root`. A dataset missing there is skipped (and listed)
 * under 'all', and is an error when named.
 */
export function registryInputs(
  names: string[],
  root: string,
): { inputs: RegistrySource[]; skipped: { dir_name: string; why: string }[] } {
  const chosen = selectEntries(names, loadRegistry());
  const named = !(names.length === 1 && names[0] === 'all');
  const inputs: RegistrySource[] = [];
  const skipped: { dir_name: string; why: string }[] = [];
  for (const e of chosen) {
    if (presenceUnder(root, e) === 'missing') {
      const why = `missing under ${root}/${e.dir_name}/ (expected ${e.layout.required.join(', ')})`;
      if (named)
        throw new UserError(
          `dataset ${e.dir_name} is ${why}`,
          { file: `${root}/${e.dir_name}` },
          `'cytoimagenet sources show ${e.dir_name}' says how to get it`,
        );
      skipped.push({ dir_name: e.dir_name, why });
      continue;
    }
    inputs.push(registrySource(e, root));
  }
  return { inputs, skipped };
}

// The shipped registry: one YAML file per source dataset of CytoImageNet (registry/<dir_name>.yaml,
// docs/sources.md). Each entry says what the dataset is, its licence and citation, where to get
// the files, the layout expected under ROOT/<dir_name>/, and under `source` an ordinary adapter
// config whose relative paths resolve against ROOT/<dir_name>/ instead of the YAML's own folder.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { readConfigFile, validateConfig, type RawConfig } from './config-file.js';
import { adapterByName, ADAPTER_NAMES } from './registry.js';
import type { CommonConfig } from './adapter.js';
import { isRemote } from './fetch/entry.js';

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
     * Where the images already live, read in place when ROOT/<dir_name>/ holds none of them
     * (docs/sources.md, "Reading in place"): an http(s):// or s3:// URL or an absolute folder that
     * stands for ROOT/<dir_name>/ (the source's images folder resolves against it), or the URL of
     * an OME-Zarr plate (…/name.zarr) for an ome-zarr-plate source. null: local only.
     */
    location: z
      .string()
      .nullable()
      .default(null)
      .superRefine((v, ctx) => {
        const problem = v === null ? null : locationProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** What the config language cannot yet express (so the rows differ from the original's). */
    caveats: z.string().min(1).optional(),
    /** An ordinary adapter config; relative paths resolve against ROOT/<dir_name>/. */
    source: z.looseObject({ adapter: z.string() }),
    /** Synonym tables shipped beside this file (per-source code → label rules), applied after the shipped one. */
    synonyms: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type RegistryEntry = z.infer<typeof registryEntrySchema> & { file: string };

const LOCATION_FORMS = 'an http://, https:// or s3:// URL, or an absolute folder';

/** What is wrong with a `location` value, or null. */
export function locationProblem(v: string): string | null {
  if (v.trim() === '' || v.trim() !== v) return `location must be ${LOCATION_FORMS}, without spaces around it`;
  if (/[#?]/.test(v)) return `location names a folder or URL prefix: no '#' selectors or '?' queries (got '${v}')`;
  if (isRemote(v)) {
    try {
      if (new URL(v).host === '') throw new Error('no host');
    } catch {
      return `location '${v}' is not a URL with a host`;
    }
    return null;
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(v) && !isAbsolute(v)) return `location must be ${LOCATION_FORMS}, got '${v}'`;
  if (!isAbsolute(v))
    return `location must be ${LOCATION_FORMS} (a relative path would depend on where ingest runs), got '${v}'`;
  return null;
}

/** The location names an OME-Zarr store itself (its last segment ends in .zarr), not a folder of images. */
function isZarrLocation(v: string): boolean {
  return /\.zarr$/i.test(v.replace(/\/+$/, ''));
}

/** The source key a location replaces ROOT/<dir_name>/ for: its images folder, or its plate. */
function imagesKeyOf(source: Record<string, unknown>): 'images' | 'plate' | null {
  if (source.adapter === 'ome-zarr-plate') return 'plate';
  return typeof source.images === 'string' ? 'images' : null;
}

/** A location the entry's source cannot use: a UserError at the location's line. */
function checkLocation(raw: RawConfig, entry: RegistryEntry): void {
  const v = entry.location;
  if (v === null) return;
  const at = { file: entry.file, line: raw.lineOf(['location']), column: 'location' };
  const src = entry.source as Record<string, unknown>;
  if (isZarrLocation(v) && src.adapter !== 'ome-zarr-plate')
    throw new UserError(
      `location names an OME-Zarr plate, which only an ome-zarr-plate source reads (this source's adapter is '${String(src.adapter)}')`,
      at,
      'give the folder or URL prefix that holds the images instead (it stands for ROOT/<dir_name>/)',
    );
  const key = imagesKeyOf(src);
  if (key === null)
    throw new UserError(
      'location is given, but the source names no images folder (source.images) for it to stand for',
      at,
      'add source.images (relative to ROOT/<dir_name>/), or set location: null',
    );
  if (key === 'plate' && isRemote(String(src.plate)))
    throw new UserError(
      'location is given, but source.plate is already a URL',
      at,
      'give source.plate as the path of the local copy under ROOT/<dir_name>/, and the plate URL as location',
    );
  if (isRemote(v) && src.adapter === 'generic' && typeof src.pattern === 'string')
    throw new UserError(
      'this source finds its images by listing its images folder (source.pattern), and a URL location cannot be listed',
      at,
      'give location as an absolute folder (e.g. a mount of the bucket), or list the files in a table (source.table.files)',
    );
}

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
  checkLocation(raw, entry);
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

/**
 * Whether a dataset cannot be ingested from ROOT: without a location, when none of its layout is
 * there; with one, when ROOT/<dir_name>/ is absent and the source needs a file from it (its
 * tables; an ome-zarr-plate source without an annotation needs none).
 */
function missingUnder(root: string, e: RegistryEntry): boolean {
  if (e.location === null) return presenceUnder(root, e) === 'missing';
  const src = e.source as Record<string, unknown>;
  const needsLocal = !(src.adapter === 'ome-zarr-plate' && src.annotation === undefined);
  return needsLocal && !existsSync(join(root, e.dir_name));
}

/** A registry entry's source, ready for ingestSources (src/catalog/ingest.ts, ConfigInput). */
export interface RegistrySource {
  raw: RawConfig;
  configDir: string;
  /** The images folder (or plate) resolves against this folder or URL instead of configDir. */
  imagesBase?: string;
  /** Ingested instead when not one file the source lists is under configDir (its location). */
  fallback?: RegistrySource;
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
  const local: RegistrySource = { raw: sub, configDir: resolve(root, e.dir_name) };
  if (e.location === null) return local;
  const inPlace = inPlaceSource(e.location, local);
  // No local images folder: straight to the location. One that lists none of the source's files
  // (only the tables, say): ingest finds that out and reads the location instead.
  const key = imagesKeyOf(sub.data as Record<string, unknown>);
  const here = resolve(local.configDir, String((sub.data as Record<string, unknown>)[key ?? 'images'] ?? '.'));
  return existsSync(here) ? { ...local, fallback: inPlace } : inPlace;
}

/**
 * The source reading its images from `location`: the images folder resolves against it; a plate
 * location is the plate itself (its folder is the base, its name the source's plate).
 */
function inPlaceSource(location: string, local: RegistrySource): RegistrySource {
  const loc = location.replace(/\/+$/, '');
  if (!isZarrLocation(loc)) return { ...local, imagesBase: loc };
  const cut = loc.lastIndexOf('/');
  const data = { ...(local.raw.data as Record<string, unknown>), plate: loc.slice(cut + 1) };
  return { raw: { ...local.raw, data }, configDir: local.configDir, imagesBase: loc.slice(0, cut) || '/' };
}

/**
 * The registry entries to ingest from `root`. A dataset missing there is skipped (and listed)
 * under 'all', and is an error when named.
 */
export function registryInputs(
  names: string[],
  root: string,
  registry: string = registryDir(),
): { inputs: RegistrySource[]; skipped: { dir_name: string; why: string }[] } {
  const chosen = selectEntries(names, loadRegistry(registry));
  const named = !(names.length === 1 && names[0] === 'all');
  const inputs: RegistrySource[] = [];
  const skipped: { dir_name: string; why: string }[] = [];
  for (const e of chosen) {
    if (missingUnder(root, e)) {
      const why =
        e.location === null
          ? `missing under ${root}/${e.dir_name}/ (expected ${e.layout.required.join(', ')})`
          : `missing under ${root}/${e.dir_name}/ (its tables; the images are read from ${e.location})`;
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

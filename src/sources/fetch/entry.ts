// What a source file entry names. One entry of a catalog's source_files (or of `standardize`'s
// arguments) is a local path, an http(s) URL, or s3://bucket/key (a public bucket, read over HTTPS
// through a configurable endpoint). A path or URL with a `.zarr` folder in it is an OME-Zarr image;
// its `#` fragment picks the plane (docs/imaging.md, "Remote and OME-Zarr sources"):
//   #c=K  one channel (default: every channel, in omero/axis order)
//   #z=K or #z=max  one z plane or the maximum projection (default: the middle plane)
//   #t=K  time point (default 0)      #level=K  resolution level (default 0, full resolution)
// Selectors may be chained as `#c=0&z=max` or `#c=0#z=max`. OME-TIFF files take the same ones.
// Every module that must tell a remote entry from a path asks isRemote here, so that rule lives in
// one place.
import { existsSync } from 'node:fs';

export interface EntrySelectors {
  c?: number;
  /** A plane index, or 'max' for the maximum projection over z. */
  z?: number | 'max';
  t?: number;
  level?: number;
}

export interface ParsedEntry {
  /** The entry as given. */
  entry: string;
  /** The entry without its fragment: a path or URL. */
  location: string;
  /** location with s3:// mapped to https (the URL actually requested); the path for local files. */
  resolved: string;
  remote: boolean;
  /** The location names an OME-Zarr image group (a path segment ends in .zarr). */
  zarr: boolean;
  /** An OME-TIFF (.ome.tif / .ome.tiff). */
  omeTiff: boolean;
  selectors: EntrySelectors;
  /** Whether any selector was given. */
  hasSelectors: boolean;
}

const REMOTE = /^(https?|s3):\/\//i;
/** The same rule for SQL (DuckDB regexp_matches, case-insensitive): the catalog's file check. */
export const REMOTE_ENTRY_SQL = '^(https?|s3)://';

/** True for http://, https:// and s3:// entries (whatever their fragment). */
export function isRemote(entry: string): boolean {
  return REMOTE.test(entry);
}

/** True when the entry (path or URL) lies inside a `.zarr` folder, i.e. names an OME-Zarr node. */
export function isZarrEntry(entry: string): boolean {
  return /\.zarr(\/|$)/i.test(stripFragment(entry).replace(/\/+$/, ''));
}

/**
 * True for entries that need more than a plain file read: remote, OME-Zarr, or with selectors. A
 * local file whose name holds a '#' is still a plain file when it exists under that name.
 */
export function isSpecialEntry(entry: string): boolean {
  if (isRemote(entry) || isZarrEntry(entry)) return true;
  return /#(c|z|t|level)=/.test(entry) && !existsSync(entry);
}

function stripFragment(entry: string): string {
  const i = entry.indexOf('#');
  return i < 0 ? entry : entry.slice(0, i);
}

/** The default S3 endpoint (virtual-host style is not used: bucket names with dots break TLS). */
export const DEFAULT_S3_ENDPOINT = 'https://s3.amazonaws.com';

let currentS3Endpoint = process.env.CYTOIMAGENET_S3_ENDPOINT ?? DEFAULT_S3_ENDPOINT;

/** Where s3://bucket/key is read from: `${endpoint}/bucket/key` (path style). */
export function setS3Endpoint(endpoint: string): void {
  currentS3Endpoint = endpoint.replace(/\/+$/, '');
}

/** The endpoint s3:// entries are read through in this process. */
export function s3Endpoint(): string {
  return currentS3Endpoint;
}

export function s3Url(location: string, endpoint = currentS3Endpoint): string {
  const rest = location.replace(/^s3:\/\//i, '');
  return `${endpoint.replace(/\/+$/, '')}/${rest}`;
}

export class EntryError extends Error {
  constructor(
    readonly entry: string,
    message: string,
  ) {
    super(`${entry}: ${message}`);
    this.name = 'EntryError';
  }
}

/** Parses an entry; throws EntryError for a malformed fragment. */
export function parseEntry(entry: string): ParsedEntry {
  const hash = entry.indexOf('#');
  const location = hash < 0 ? entry : entry.slice(0, hash);
  const fragment = hash < 0 ? '' : entry.slice(hash + 1);
  const selectors: EntrySelectors = {};
  for (const part of fragment.split(/[#&]/)) {
    if (part === '') continue;
    const m = /^(c|z|t|level)=(\d+|max)$/.exec(part);
    if (!m) throw new EntryError(entry, `unknown selector '${part}' (expected c=K, z=K, z=max, t=K or level=K)`);
    const [, key, value] = m;
    if (value === 'max') {
      if (key !== 'z') throw new EntryError(entry, `'max' is only allowed for z (the maximum projection)`);
      selectors.z = 'max';
    } else {
      const n = Number(value);
      if (key === 'c') selectors.c = n;
      else if (key === 'z') selectors.z = n;
      else if (key === 't') selectors.t = n;
      else selectors.level = n;
    }
  }
  const remote = isRemote(location);
  const trimmed = location.replace(/\/+$/, '');
  return {
    entry,
    location: trimmed,
    resolved: /^s3:\/\//i.test(trimmed) ? s3Url(trimmed) : trimmed,
    remote,
    zarr: /\.zarr(\/|$)/i.test(trimmed),
    omeTiff: /\.ome\.tiff?$/i.test(trimmed),
    selectors,
    hasSelectors: Object.keys(selectors).length > 0,
  };
}

/** The entry with selectors set (others kept), in the canonical `#c=K&z=K&t=K&level=K` order. */
export function withSelectors(entry: string, add: EntrySelectors): string {
  const p = parseEntry(entry);
  const s = { ...p.selectors, ...add };
  const parts: string[] = [];
  if (s.c !== undefined) parts.push(`c=${s.c}`);
  if (s.z !== undefined) parts.push(`z=${s.z}`);
  if (s.t !== undefined) parts.push(`t=${s.t}`);
  if (s.level !== undefined) parts.push(`level=${s.level}`);
  const hash = entry.indexOf('#');
  const base = hash < 0 ? entry : entry.slice(0, hash);
  return parts.length ? `${base}#${parts.join('&')}` : base;
}

/** Joins a relative entry to a root folder or URL; absolute paths and URLs are kept. */
export function resolveEntry(entry: string, root: string): string {
  if (isRemote(entry) || entry.startsWith('/')) return entry;
  const base = root.replace(/\/+$/, '');
  return `${base}/${entry}`;
}

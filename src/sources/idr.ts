// `idr`: an IDR study laid out as in its GitHub repository: idrNNNN-study.txt, and one folder per
// screen/experiment with idrNNNN-<screen>-annotation.csv (or .csv.zip/.csv.gz) and a plates TSV
// (plate<TAB>path, path<TAB>plate, or path only) or filePaths TSV. Screens give one row per well
// (Plate, Well); experiments one row per image (Dataset Name, Image Name).
import { existsSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { DuckDBConnection } from '@duckdb/node-api';
import { loadTable, type LoadedTable } from './table-reader.js';
import { UserError } from '../util/errors.js';
import { CATALOG_COLUMNS } from './schema.js';
import { readStudyFile, studyValue } from './idr-study.js';
import {
  commonConfigShape,
  buildStage,
  dirNameOf,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  ident,
  sqlString,
  type Adapter,
  type CommonConfig,
  type StageColumn,
} from './adapter.js';

export interface IdrConfig extends CommonConfig {
  study: string;
  screens?: string[];
  images?: string;
  columns?: Partial<Record<string, string>>;
  extras?: 'all' | string[];
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('idr'),
    study: z.string().min(1),
    screens: z.array(z.string().min(1)).optional(),
    images: z.string().optional(),
    columns: z.partialRecord(z.enum(CATALOG_COLUMNS as unknown as [string, ...string[]]), z.string().min(1)).optional(),
    /** Annotation columns kept in the extras table: 'all' unmapped ones, or a list (docs/catalog.md). */
    extras: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).optional(),
  })
  .strict();

/** Annotation columns → schema columns (the first present wins; organisms are all joined). */
export const IDR_COLUMN_MAP: Partial<Record<StageColumn, readonly string[]>> = {
  cell_type: ['Characteristics [Cell Line]'],
  compound: ['Compound Name'],
  phenotype: ['Compound MoA'],
  gene: ['Gene Symbol', 'Comment [Gene Symbol]'],
  sirna: ['siRNA Identifier'],
  cell_visible: ['Experimental Condition [Subcellular Localization]'],
};

interface Part {
  name: string;
  annotation: string;
  plates: string | null;
  kind: 'screen' | 'experiment';
}

function findParts(dir: string, only: string[] | undefined): Part[] {
  const parts: Part[] = [];
  for (const name of readdirSync(dir).sort()) {
    const sub = join(dir, name);
    if (!statSync(sub).isDirectory()) continue;
    if (only && !only.includes(name)) continue;
    const files = readdirSync(sub).sort();
    const ann = files.find((f) => /-annotation\.(csv|tsv)(\.zip|\.gz)?$/i.test(f));
    if (!ann) continue;
    const plates = files.find((f) => /-(plates|filePaths)\.tsv$/i.test(f)) ?? null;
    parts.push({
      name,
      annotation: join(sub, ann),
      plates: plates ? join(sub, plates) : null,
      kind: /^experiment/i.test(name) ? 'experiment' : 'screen',
    });
  }
  return parts;
}

/** Loads a plates TSV in any of its forms into temp table `name` (plate, path). */
async function loadPlates(conn: DuckDBConnection, file: string, name: string, tmpDir: string): Promise<void> {
  const first =
    readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .find((l) => l.trim() !== '') ?? '';
  const n = first.split('\t').length;
  const raw = `${name}_raw`;
  if (n === 1) {
    await loadTable(conn, file, raw, { tmpDir, header: false, columns: ['a'], delimiter: '\t' });
    // Path only: the plate is the last path component without its extension.
    await conn.run(
      `CREATE TEMP TABLE ${name} AS SELECT regexp_extract(trim(a), '([^/]+?)(\\.[^./]*)?$', 1) AS plate, trim(a) AS path FROM ${raw}`,
    );
  } else if (n === 2) {
    await loadTable(conn, file, raw, { tmpDir, header: false, columns: ['a', 'b'], delimiter: '\t' });
    // The server path is the column that starts with '/' (idr0081 writes path first).
    const reversed = first.split('\t')[0].trim().startsWith('/');
    const [plate, path] = reversed ? ['b', 'a'] : ['a', 'b'];
    await conn.run(`CREATE TEMP TABLE ${name} AS SELECT trim(${plate}) AS plate, trim(${path}) AS path FROM ${raw}`);
  } else {
    throw new UserError(`expected 1 or 2 tab-separated columns (plate, path), found ${n}`, { file, line: 1 });
  }
  // One path per plate (filePaths files may list several folders per dataset).
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT plate, min(path) AS path FROM ${name} GROUP BY plate`);
}

export const idrAdapter: Adapter<IdrConfig> = {
  name: 'idr',
  summary: 'an IDR study folder (study file, screen/experiment annotation, plates TSV)',
  schema: schema as unknown as z.ZodType<IdrConfig>,
  async stage(config, ctx) {
    const dir = resolveFromConfig(ctx, config.study);
    if (!existsSync(dir)) throw new UserError('study folder not found', { file: dir, column: 'study' });
    if (!statSync(dir).isDirectory())
      throw new UserError(
        'this is a file where the study folder was expected',
        { file: dir, column: 'study' },
        `give the folder that holds it (${dirname(dir)}), e.g. study: idr0080-way-perturbation/`,
      );
    const studyName = readdirSync(dir).find((f) => /-study\.txt$/i.test(f));
    if (!studyName)
      throw new UserError(
        'no idrNNNN-study.txt in the study folder',
        { file: dir, column: 'study' },
        'study is the folder of one IDR repository (e.g. idr0080-way-perturbation)',
      );
    const study = readStudyFile(join(dir, studyName));
    const accession = /^(idr\d{4})/i.exec(studyName)?.[1]?.toLowerCase() ?? basename(dir);
    const dirName = dirNameOf(ctx, accession);
    const parts = findParts(dir, config.screens);
    if (!parts.length)
      throw new UserError(
        'no screen or experiment annotation found',
        { file: dir, column: 'screens' },
        'expected e.g. screenA/idrNNNN-screenA-annotation.csv',
      );
    const selects: string[] = [];
    const mapped = new Set<string>();
    // extras: annotation column → its alias in raw_idr_all (one per name, across screens).
    const extraAlias = new Map<string, string>();
    const listedFound = new Set<string>();
    for (const [k, part] of parts.entries()) {
      const t = `raw_idr_${k}`;
      const loaded: LoadedTable = await loadTable(ctx.conn, part.annotation, t, { tmpDir: ctx.tmpDir });
      const has = (c: string): boolean => loaded.columns.includes(c);
      const keys = part.kind === 'screen' ? ['Plate', 'Well'] : ['Dataset Name', 'Image Name'];
      for (const key of keys) {
        if (!has(key))
          throw new UserError(
            `missing column '${key}'`,
            { file: part.annotation, line: 1, column: key },
            `an IDR ${part.kind} annotation is keyed by ${keys.join(' + ')}`,
          );
      }
      const e: Record<string, string> = {};
      const organisms = loaded.columns.filter((c) => /^Characteristics \[Organism( \d+)?\]$/.test(c));
      e.organism = organisms.length
        ? `nullif(concat_ws('|', ${organisms.map((c) => `a.${ident(c)}`).join(', ')}), '')`
        : 'NULL';
      for (const [col, cands] of Object.entries(IDR_COLUMN_MAP)) {
        const c = cands.find(has);
        e[col] = c ? `a.${ident(c)}` : 'NULL';
      }
      for (const [col, src] of Object.entries(config.columns ?? {})) {
        if (src !== undefined && has(src)) {
          e[col] = `a.${ident(src)}`;
          mapped.add(col);
        } else e[col] = e[col] ?? 'NULL';
      }
      const [k1, k2] = keys.map((c) => `a.${ident(c)}`);
      e.idx = `${sqlString(`${dirName}-${part.name}-`)} || ${k1} || '-' || ${k2}`;
      let from = `${t} a`;
      if (part.kind === 'screen') {
        if (part.plates) {
          await loadPlates(ctx.conn, part.plates, `${t}_plates`, ctx.tmpDir);
          from += ` LEFT JOIN ${t}_plates p ON p.plate = a.${ident('Plate')}`;
          e.path = 'p.path';
        } else e.path = 'NULL';
        e.filename = 'NULL';
        e.source_files = 'NULL';
      } else {
        e.path = k1;
        e.filename = k2;
        e.source_files = `${k1} || '/' || ${k2}`;
      }
      const conc = loaded.columns.find((c) => /^Compound Concentration/.test(c));
      e['x_plate'] = keys[0] === 'Plate' ? k1 : 'NULL';
      e['x_well'] = keys[1] === 'Well' ? k2 : 'NULL';
      e['x_concentration'] = conc ? `a.${ident(conc)}` : 'NULL';
      e['x_screen'] = sqlString(part.name);
      if (config.extras) {
        // Columns already stored elsewhere: the mapped ones, organisms, plate/well/concentration.
        const used = new Set<string>([...organisms, ...keys]);
        if (conc) used.add(conc);
        for (const cands of Object.values(IDR_COLUMN_MAP)) {
          const c = cands?.find(has);
          if (c) used.add(c);
        }
        for (const src of Object.values(config.columns ?? {})) if (src) used.add(src);
        const keep = config.extras === 'all' ? loaded.columns.filter((c) => !used.has(c)) : config.extras.filter(has);
        for (const c of keep) {
          listedFound.add(c);
          let alias = extraAlias.get(c);
          if (!alias) extraAlias.set(c, (alias = `xx_${extraAlias.size}`));
          e[alias] = `nullif(trim(a.${ident(c)}), '')`;
        }
      }
      e.source_table = sqlString(tablePathForProvenance(ctx, part.annotation));
      e.source_row = 'a.rowid + 1';
      selects.push(
        `SELECT ${Object.entries(e)
          .map(([c, x]) => `CAST(${x} AS VARCHAR) AS ${ident(c)}`)
          .join(', ')} FROM ${from}`,
      );
    }
    for (const col of Object.keys(config.columns ?? {})) {
      if (!mapped.has(col))
        throw new UserError(`column '${config.columns?.[col]}' (for ${col}) is in no annotation table`, {
          file: ctx.configFile,
          column: `columns.${col}`,
        });
    }
    if (Array.isArray(config.extras)) {
      const absent = config.extras.filter((c) => !listedFound.has(c));
      if (absent.length)
        throw new UserError(
          `extras names ${absent.map((c) => `'${c}'`).join(', ')}, in no annotation table`,
          { file: ctx.configFile, column: 'extras' },
          'use the column names of the *-annotation.csv header',
        );
    }
    await ctx.conn.run(`CREATE TEMP TABLE raw_idr_all AS ${selects.map((s) => `(${s})`).join(' UNION ALL BY NAME ')}`);
    const stageCols: Partial<Record<StageColumn, string>> = {
      database: sqlString('Image Data Resource'),
      name: sqlString(studyValue(study, 'Study Title') ?? accession),
      dir_name: sqlString(dirName),
    };
    for (const c of [
      'organism',
      'cell_type',
      'cell_visible',
      'phenotype',
      'compound',
      'sirna',
      'gene',
      'path',
      'filename',
      'idx',
      'source_files',
      'source_table',
      'source_row',
    ] as const) {
      stageCols[c] = ident(c);
    }
    stageCols.source_row = 'CAST(source_row AS BIGINT)';
    await buildStage(ctx, stageCols, 'raw_idr_all', {
      plate: 'x_plate',
      well: 'x_well',
      concentration: 'x_concentration',
      screen: 'x_screen',
      ...Object.fromEntries([...extraAlias].map(([c, alias]) => [c, alias])),
    });
    const title = studyValue(study, 'Study Publication Title');
    const doi = studyValue(study, 'Study DOI');
    return {
      imagesRoot: config.images ? resolveImages(ctx, config.images) : null,
      licence: studyValue(study, 'Study License'),
      citation: [title, doi].filter(Boolean).join(' ') || null,
    };
  },
};

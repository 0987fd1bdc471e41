// `generic`: a source described with no code (docs/catalog.md): a folder of images matched by a
// file-name pattern (channel files grouped into one row), an optional table joined on the image
// key, a column mapping and constant/template values.
import { existsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { z } from 'zod';
import { loadTable, type LoadedTable } from './table-reader.js';
import { UserError } from '../util/errors.js';
import { listFiles } from './walk.js';
import { formatSql, parseTemplate, templateFields, type TemplatePart } from './template.js';
import {
  compilePattern,
  defaultKeyTemplate,
  groupFiles,
  matchPattern,
  renderTemplate,
  templateNames,
  type FilePattern,
  type ImageGroup,
} from './file-pattern.js';
import {
  commonConfigShape,
  buildStage,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  ident,
  sqlString,
  STAGE_COLUMNS,
  type Adapter,
  type CommonConfig,
  type StageColumn,
  type StageContext,
} from './adapter.js';

const MAPPABLE = STAGE_COLUMNS.filter(
  (c) => !['dir_name', 'database', 'name', 'source_files', 'source_table', 'source_row'].includes(c),
) as [StageColumn, ...StageColumn[]];

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('generic'),
    dir_name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
    database: z.string().min(1),
    name: z.string().min(1),
    images: z.string().min(1).optional(),
    pattern: z.string().min(1).optional(),
    channels: z.array(z.string().min(1)).min(1).optional(),
    image_key: z.string().min(1).optional(),
    table: z
      .object({
        path: z.string().min(1),
        key: z.string().min(1).optional(),
        id: z.string().min(1).optional(),
        delimiter: z.string().length(1).optional(),
        /** false: the table has no header line; name its columns with column_names. */
        header: z.boolean().optional(),
        column_names: z.array(z.string().min(1)).min(1).optional(),
        files: z.array(z.string().min(1)).min(1).optional(),
      })
      .strict()
      .optional(),
    /** Codes → names for a column: inline ({"0": "normal"}) or from a table (key and value columns). */
    codes: z
      .partialRecord(
        z.enum(MAPPABLE),
        z.union([
          z.record(z.string(), z.string()),
          z
            .object({
              table: z.string().min(1),
              key: z.string().min(1),
              value: z.string().min(1),
              delimiter: z.string().length(1).optional(),
            })
            .strict(),
        ]),
      )
      .optional(),
    columns: z.partialRecord(z.enum(MAPPABLE), z.string().min(1)).optional(),
    values: z.partialRecord(z.enum(MAPPABLE), z.string()).optional(),
    /** Multi-label cells: the separator(s) of a column's tokens, e.g. {cell_type: ","}. */
    split: z
      .partialRecord(z.enum(MAPPABLE), z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]))
      .optional(),
    /** Table columns kept in the catalog's extras table: 'all' unmapped columns, or a list. */
    extras: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).optional(),
  })
  .strict();

export type GenericConfig = z.infer<typeof schema> & CommonConfig;

const GROUPS = 'generic_groups';

/** A template as SQL: literals and {name} parts, each name resolved by `col` (null = unknown). */
export function sqlTemplate(
  template: string,
  col: (name: string) => string | null,
  where: string,
  file: string,
  names: () => string[] = () => [],
): string {
  let parsed: TemplatePart[];
  try {
    parsed = parseTemplate(template, (n) => col(n) !== null);
  } catch (e) {
    const known = names();
    throw new UserError(
      `${where} "${template}": ${(e as Error).message}`,
      { file, column: where },
      `${known.length ? `names here: ${known.slice(0, 40).join(', ')}; ` : ''}write {{ and }} for literal braces`,
    );
  }
  const parts = parsed.map((p) => ('name' in p ? formatSql(col(p.name) as string, p.spec) : sqlString(p.text)));
  return parts.length ? `(${parts.join(' || ')})` : "''";
}

async function writeGroups(ctx: StageContext, pattern: FilePattern | null, groups: ImageGroup[]): Promise<void> {
  const names = pattern ? pattern.names.filter((n) => n !== 'channel') : [];
  const cols = [
    'key VARCHAR',
    'source_files VARCHAR',
    'path VARCHAR',
    'filename VARCHAR',
    ...names.map((n) => `${ident(`p_${n}`)} VARCHAR`),
  ];
  await ctx.conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${GROUPS} (${cols.join(', ')})`);
  if (!groups.length) return;
  const ap = await ctx.conn.createAppender(GROUPS, 'main', 'temp');
  for (const g of groups) {
    const first = g.files[0];
    ap.appendVarchar(g.key);
    ap.appendVarchar(g.files.join('|'));
    const dir = posix.dirname(first);
    if (dir === '.') ap.appendNull();
    else ap.appendVarchar(dir);
    ap.appendVarchar(posix.basename(first));
    for (const n of names) ap.appendVarchar(g.values[n] ?? '');
    ap.endRow();
  }
  ap.flushSync();
  ap.closeSync();
}

/**
 * `split`: a column's cell holds several labels ("NEUTROPHIL, EOSINOPHIL"). Tokens are trimmed,
 * empty ones dropped and repeats dropped (first seen kept), then joined with the catalog's '|'.
 */
function applySplit(exprs: Partial<Record<StageColumn, string>>, config: GenericConfig, file: string): void {
  for (const [c, sep] of Object.entries(config.split ?? {})) {
    const base = exprs[c as StageColumn];
    if (!base)
      throw new UserError(`split.${c}: the column has no value to split (map it in 'columns' or 'values')`, {
        file,
        column: `split.${c}`,
      });
    const seps = Array.isArray(sep) ? sep : [sep];
    let x = `CAST(${base} AS VARCHAR)`;
    for (const other of seps.slice(1)) x = `replace(${x}, ${sqlString(other)}, ${sqlString(seps[0])})`;
    const tokens = `list_filter(list_transform(string_split(${x}, ${sqlString(seps[0])}), lambda s: trim(s)), lambda s: s <> '')`;
    exprs[c as StageColumn] =
      `(SELECT nullif(array_to_string(list_filter(l, lambda v, i: list_position(l, v) = i), '|'), '') FROM (SELECT ${tokens} AS l))`;
  }
}

/** `extras`: table columns kept as (key, value) rows of the catalog's extras table. */
function extraColumns(
  config: GenericConfig,
  columns: readonly string[],
  tfile: string,
  file: string,
): Record<string, string> {
  if (!config.extras) return {};
  let keep: string[];
  if (config.extras === 'all') {
    const mapped = new Set<string>(Object.values(config.columns ?? {}));
    if (config.table?.key) mapped.add(config.table.key);
    keep = columns.filter((c) => !mapped.has(c));
  } else {
    for (const c of config.extras) {
      if (!columns.includes(c))
        throw new UserError(
          `extras names '${c}', which is not a column of the table`,
          { file, column: 'extras' },
          `the columns of ${tfile}: ${columns.slice(0, 40).join(', ')}`,
        );
    }
    keep = [...new Set(config.extras)];
  }
  return Object.fromEntries(keep.map((c) => [c, `nullif(trim(t.${ident(c)}), '')`]));
}

export const genericAdapter: Adapter<GenericConfig> = {
  name: 'generic',
  summary: 'any source described in a config: image folder + file pattern + optional table',
  schema: schema as unknown as z.ZodType<GenericConfig>,
  async stage(config, ctx) {
    const file = ctx.configFile;
    if (!config.images && !config.table)
      throw new UserError("give 'images' (a folder), 'table', or both", { file, column: 'images' });
    if (config.images && !config.pattern && !config.table?.files)
      throw new UserError(
        "'images' needs a 'pattern' such as \"{stem}.png\" (or 'table.files' naming each row's files)",
        { file, column: 'pattern' },
      );
    if (config.extras && !config.table)
      throw new UserError("'extras' keeps table columns, but there is no 'table'", { file, column: 'extras' });
    if (config.codes && !config.table)
      throw new UserError("'codes' translate table values, but there is no 'table'", { file, column: 'codes' });
    if (config.columns && !config.table)
      throw new UserError("'columns' maps table columns, but there is no 'table'", { file, column: 'columns' });
    let pattern: FilePattern | null = null;
    let keyTemplate = '';
    if (config.pattern) {
      try {
        pattern = compilePattern(config.pattern, config.channels);
      } catch (e) {
        throw new UserError(`bad pattern: ${(e as Error).message}`, { file, column: 'pattern' });
      }
      if (config.channels && !pattern.hasChannel)
        throw new UserError("'channels' given but the pattern has no {channel}", { file, column: 'channels' });
      keyTemplate = config.image_key ?? defaultKeyTemplate(pattern);
      let keyNames: string[];
      try {
        keyNames = templateNames(keyTemplate);
      } catch (e) {
        throw new UserError(`bad image_key: ${(e as Error).message}`, { file, column: 'image_key' });
      }
      for (const n of keyNames) {
        if (!pattern.names.includes(n) || n === 'channel')
          throw new UserError(`image_key uses {${n}}, which is not a non-channel placeholder of the pattern`, {
            file,
            column: 'image_key',
          });
      }
    }
    const root = config.images ? resolveImages(ctx, config.images) : null;
    let groups: ImageGroup[] = [];
    if (root && pattern) {
      if (!existsSync(root) || !statSync(root).isDirectory()) {
        if (!config.table) throw new UserError('images folder not found', { file: root, column: 'images' });
      } else {
        const files = await listFiles(root);
        const r = groupFiles(pattern, files, keyTemplate, config.channels);
        groups = r.groups;
        if (!groups.length && !config.table) {
          throw new UserError(
            `no file under the images folder matches the pattern '${config.pattern}' (${files.length} files looked at)`,
            { file, column: 'pattern' },
            files[0] ? `for example '${files[0]}' does not match` : 'the folder is empty',
          );
        }
      }
    }
    await writeGroups(ctx, pattern, groups);
    const dirName = config.dir_name;
    const exprs: Partial<Record<StageColumn, string>> = {};
    const placeholder = (n: string): string | null =>
      pattern?.names.includes(n) && n !== 'channel' ? `g.${ident(`p_${n}`)}` : null;
    const placeholderNames = (): string[] => (pattern?.names ?? []).filter((n) => n !== 'channel');

    if (!config.table) {
      for (const [c, tpl] of Object.entries(config.values ?? {}))
        exprs[c as StageColumn] = sqlTemplate(tpl, placeholder, `values.${c}`, file, placeholderNames);
      applySplit(exprs, config, file);
      exprs.idx = `${sqlString(dirName + '-')} || g.key`;
      exprs.path = exprs.path ?? 'g.path';
      exprs.filename = exprs.filename ?? 'g.filename';
      exprs.source_files = 'g.source_files';
      exprs.source_table = sqlString(tablePathForProvenance(ctx, root ?? file));
      exprs.source_row = 'row_number() OVER (ORDER BY g.key)';
      await buildStage(ctx, exprs, `${GROUPS} g`);
      return { imagesRoot: root };
    }

    const tfile = resolveFromConfig(ctx, config.table.path);
    if (config.table.header === false && !config.table.column_names) {
      throw new UserError("a table without a header needs 'table.column_names'", {
        file,
        column: 'table.column_names',
      });
    }
    const t: LoadedTable = await loadTable(ctx.conn, tfile, 'raw_generic', {
      tmpDir: ctx.tmpDir,
      delimiter: config.table.delimiter,
      header: config.table.header ?? true,
      columns: config.table.header === false ? config.table.column_names : undefined,
    });
    const has = (c: string): boolean => t.columns.includes(c);
    const needCol = (c: string, where: string): string => {
      if (!has(c))
        throw new UserError(
          `the table has no column '${c}' (named in ${where})`,
          { file: tfile, line: 1, column: c },
          `its columns: ${t.columns.slice(0, 30).join(', ')}`,
        );
      return `nullif(trim(t.${ident(c)}), '')`;
    };
    const tableOrPlaceholder = (n: string): string | null => (has(n) ? `t.${ident(n)}` : placeholder(n));
    const allNames = (): string[] => [...t.columns, ...placeholderNames().filter((n) => !has(n))];
    let from = 'raw_generic t';
    if (config.table.key) {
      const key = needCol(config.table.key, 'table.key');
      if (pattern && root) {
        // Table rows whose image is absent still get their expected file names (status missing).
        const missing = (
          await ctx.conn.runAndReadAll(
            `SELECT DISTINCT ${key} AS k FROM raw_generic t WHERE ${key} IS NOT NULL AND ${key} NOT IN (SELECT key FROM ${GROUPS}) ORDER BY 1`,
          )
        )
          .getRowObjectsJson()
          .map((r) => String(r.k));
        const keyPattern = compilePattern(keyTemplate);
        const channelOrder = pattern.hasChannel
          ? (config.channels ??
            [
              ...new Set(
                groups.flatMap((g) => g.files.map((f) => matchPattern(pattern as FilePattern, f)?.channel ?? '')),
              ),
            ].sort())
          : [''];
        const expected: ImageGroup[] = [];
        for (const k of missing) {
          const v = matchPattern(keyPattern, k);
          if (!v) continue;
          const files = channelOrder.map((ch) => renderTemplate(pattern.source, { ...v, channel: ch }));
          expected.push({ key: k, values: v, files, complete: false });
        }
        await writeGroups(ctx, pattern, expected);
      }
      from += ` LEFT JOIN ${GROUPS} g ON g.key = ${key}`;
      exprs.idx = `${sqlString(dirName + '-')} || ${key}`;
      exprs.source_files = 'g.source_files';
      exprs.path = 'g.path';
      exprs.filename = 'g.filename';
    } else {
      if (pattern)
        throw new UserError(
          "with both 'images' and 'table', give 'table.key': the column that holds each row's image key",
          { file, column: 'table.key' },
        );
      from += ` LEFT JOIN ${GROUPS} g ON false`;
    }
    if (config.table.files) {
      const parts = config.table.files.map((tpl, i) =>
        sqlTemplate(tpl, tableOrPlaceholder, `table.files.${i}`, file, allNames),
      );
      exprs.source_files = parts.join(` || '|' || `);
      exprs.path = `nullif(regexp_extract(${parts[0]}, '^(.*)/[^/]*$', 1), '')`;
      exprs.filename = `regexp_extract(${parts[0]}, '[^/]+$')`;
    }
    if (config.table.id)
      exprs.idx = `${sqlString(dirName + '-')} || ${sqlTemplate(config.table.id, tableOrPlaceholder, 'table.id', file, allNames)}`;
    if (!exprs.idx) {
      if (exprs.source_files) exprs.idx = `${sqlString(dirName + '-')} || (${exprs.source_files})`;
      else
        throw new UserError(
          "cannot tell rows apart: give 'table.key' or 'table.id' (a template such as \"{plate}-{well}\")",
          { file, column: 'table' },
        );
    }
    for (const [c, tpl] of Object.entries(config.values ?? {}))
      exprs[c as StageColumn] = sqlTemplate(tpl, tableOrPlaceholder, `values.${c}`, file, allNames);
    for (const [c, src] of Object.entries(config.columns ?? {})) {
      const v = needCol(src, `columns.${c}`);
      exprs[c as StageColumn] =
        c === 'idx'
          ? `${sqlString(dirName + '-')} || ${v}`
          : exprs[c as StageColumn]
            ? `coalesce(${v}, ${exprs[c as StageColumn]})`
            : v;
    }
    let k = 0;
    for (const [c, code] of Object.entries(config.codes ?? {})) {
      const col = c as StageColumn;
      const base = exprs[col];
      if (!base)
        throw new UserError(`codes.${c}: the column has no value to translate (map it in 'columns' or 'values')`, {
          file,
          column: `codes.${c}`,
        });
      const ct = `generic_codes_${k++}`;
      if ('table' in code && typeof code.table === 'string') {
        const cfile = resolveFromConfig(ctx, code.table);
        const loaded = await loadTable(ctx.conn, cfile, `${ct}_raw`, {
          tmpDir: ctx.tmpDir,
          delimiter: code.delimiter as string | undefined,
        });
        for (const need of [code.key, code.value] as string[]) {
          if (!loaded.columns.includes(need))
            throw new UserError(`the code table has no column '${need}'`, { file: cfile, line: 1, column: need });
        }
        await ctx.conn.run(
          `CREATE TEMP TABLE ${ct} AS SELECT DISTINCT ON (k) trim(${ident(code.key as string)}) AS k, ${ident(code.value as string)} AS v FROM ${ct}_raw`,
        );
      } else {
        const pairs = Object.entries(code as Record<string, string>);
        await ctx.conn.run(`CREATE TEMP TABLE ${ct} (k VARCHAR, v VARCHAR)`);
        if (pairs.length)
          await ctx.conn.run(
            `INSERT INTO ${ct} VALUES ${pairs.map(([a, b]) => `(${sqlString(a)}, ${sqlString(b)})`).join(', ')}`,
          );
      }
      from += ` LEFT JOIN ${ct} ON ${ct}.k = (${base})`;
      exprs[col] = `coalesce(${ct}.v, ${base})`;
    }
    applySplit(exprs, config, file);
    // A row without idx: name the empty column it is built from (the catalog only knows "no idx").
    const noIdx = (
      await ctx.conn.runAndReadAll(
        `SELECT t.rowid AS r FROM ${from} WHERE (${exprs.idx}) IS NULL ORDER BY t.rowid LIMIT 1`,
      )
    ).getRowObjectsJson()[0];
    if (noIdx) {
      const rowid = Number(noIdx.r);
      const line = rowid + (config.table.header === false ? 1 : 2);
      const emptyOf = async (cols: string[]): Promise<string[]> => {
        const r = (
          await ctx.conn.runAndReadAll(
            `SELECT ${cols.map((c, i) => `nullif(trim(${ident(c)}), '') IS NULL AS e${i}`).join(', ')} FROM raw_generic WHERE rowid = ${rowid}`,
          )
        ).getRowObjectsJson()[0];
        return cols.filter((_, i) => r?.[`e${i}`] === true);
      };
      const idCol = config.columns?.idx;
      if (idCol && (await emptyOf([idCol])).length)
        throw new UserError(
          `the idx column '${idCol}' is empty`,
          { file: tfile, line, column: idCol },
          'every row needs an idx',
        );
      if (config.table.key && (await emptyOf([config.table.key])).length)
        throw new UserError(
          `the key column '${config.table.key}' is empty`,
          { file: tfile, line, column: config.table.key },
          'every row needs its image key (table.key): fill it in, or remove the row',
        );
      if (config.table.id) {
        const fields = templateFields(config.table.id, (n) => tableOrPlaceholder(n) !== null).filter(has);
        const empty = await emptyOf(fields);
        if (empty.length)
          throw new UserError(
            `table.id "${config.table.id}" has no value: ${empty.map((c) => `'${c}'`).join(', ')} ${empty.length > 1 ? 'are' : 'is'} empty`,
            { file: tfile, line, column: empty[0] },
            'every row needs the columns its id is built from',
          );
      }
    }
    exprs.source_table = sqlString(tablePathForProvenance(ctx, tfile));
    exprs.source_row = 't.rowid + 1';
    await buildStage(ctx, exprs, from, extraColumns(config, t.columns, tfile, file));
    return { imagesRoot: root };
  },
};

// `bbbc041`: BBBC041 P. vivax blood smears, boxes in JSON ([{image:{pathname,shape}, objects:
// [{bounding_box:{minimum:{r,c}, maximum:{r,c}}, category}]}]). One row per bounding box: the
// box's category is the cell type, and x_min..y_max is the crop box (x = column, y = row).
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { readJsonFile } from './json-file.js';
import {
  commonConfigShape,
  buildStage,
  dirNameOf,
  resolveFromConfig,
  resolveImages,
  tablePathForProvenance,
  sqlString,
  type Adapter,
  type CommonConfig,
} from './adapter.js';

export interface Bbbc041Config extends CommonConfig {
  boxes: string | string[];
  images?: string;
}

const schema = z
  .object({
    ...commonConfigShape,
    adapter: z.literal('bbbc041'),
    boxes: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    images: z.string().optional(),
  })
  .strict();

const Point = z.object({ r: z.number().int(), c: z.number().int() });
const Record_ = z.object({
  image: z.object({ pathname: z.string().min(1) }).passthrough(),
  objects: z.array(
    z.object({ bounding_box: z.object({ minimum: Point, maximum: Point }), category: z.string() }).passthrough(),
  ),
});

export const bbbc041Adapter: Adapter<Bbbc041Config> = {
  name: 'bbbc041',
  summary: 'BBBC041 malaria JSON boxes: one row per bounding box with its crop box',
  schema,
  async stage(config, ctx) {
    const files = (Array.isArray(config.boxes) ? config.boxes : [config.boxes]).map((f) => resolveFromConfig(ctx, f));
    const dirName = dirNameOf(ctx, 'bbbc041');
    await ctx.conn.run(
      `CREATE TEMP TABLE raw_bbbc041 (file VARCHAR, record BIGINT, k INTEGER, pathname VARCHAR, category VARCHAR, x_min INTEGER, x_max INTEGER, y_min INTEGER, y_max INTEGER)`,
    );
    const ap = await ctx.conn.createAppender('raw_bbbc041', 'main', 'temp');
    for (const file of files) {
      const data = readJsonFile(file);
      if (!Array.isArray(data)) throw new UserError('expected a JSON array of image records', { file, line: 1 });
      const prov = tablePathForProvenance(ctx, file);
      data.forEach((rec: unknown, i: number) => {
        const r = Record_.safeParse(rec);
        if (!r.success) {
          const issue = r.error.issues[0];
          throw new UserError(
            `image record ${i + 1}: ${issue.message}`,
            { file, column: issue.path.join('.') },
            'expected {image: {pathname}, objects: [{bounding_box: {minimum: {r, c}, maximum: {r, c}}, category}]}',
          );
        }
        r.data.objects.forEach((o, k) => {
          ap.appendVarchar(prov);
          ap.appendBigInt(BigInt(i + 1));
          ap.appendInteger(k + 1);
          ap.appendVarchar(r.data.image.pathname.replace(/^\/+/, ''));
          ap.appendVarchar(o.category);
          ap.appendInteger(o.bounding_box.minimum.c);
          ap.appendInteger(o.bounding_box.maximum.c);
          ap.appendInteger(o.bounding_box.minimum.r);
          ap.appendInteger(o.bounding_box.maximum.r);
          ap.endRow();
        });
      });
    }
    ap.flushSync();
    ap.closeSync();
    const stem = `regexp_replace(regexp_extract(pathname, '[^/]+$'), '\\.[^.]*$', '')`;
    await buildStage(
      ctx,
      {
        database: sqlString('Broad Bioimage Benchmark Collection'),
        name: sqlString('P. vivax (malaria) infected human blood smears'),
        dir_name: sqlString(dirName),
        path: `nullif(regexp_extract(pathname, '^(.*)/[^/]*$', 1), '')`,
        filename: `regexp_extract(pathname, '[^/]+$')`,
        // Image stem + box number within the image (the original's crop name {stem}_{k}).
        idx: `${sqlString(dirName + '-')} || ${stem} || '_' || k`,
        organism: sqlString('human'),
        cell_type: 'category',
        microscopy: sqlString('brightfield'),
        channels: sqlString('brightfield'),
        crop: 'true',
        x_min: 'x_min',
        x_max: 'x_max',
        y_min: 'y_min',
        y_max: 'y_max',
        source_files: 'pathname',
        source_table: 'file',
        source_row: 'record',
      },
      'raw_bbbc041',
    );
    return {
      imagesRoot: config.images ? resolveImages(ctx, config.images) : null,
      licence: 'CC BY-NC-SA 3.0 (BBBC)',
      citation:
        'Hung et al. 2018, Applying faster R-CNN for object detection on malaria images; Ljosa et al. 2012, Nat Methods 9:637 (BBBC041v1)',
    };
  },
};

// Every registry dataset whose tables are not in shared/data: a miniature of its documented layout
// (file names as the spec's table in shared/spec/original-system.md §3 and the original's
// catalogue give them), written here by hand, not derived from the configs. `ingest --registry all`
// must turn each into the expected rows, channel files and labels, and list the absent ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ingestSources } from '../../src/catalog/ingest.js';
import { loadRegistry, registryInputs } from '../../src/sources/dataset-registry.js';
import { withTempDir } from '../helpers/data.js';
import { query } from '../catalog/catalog-helpers.js';

interface Mini {
  /** Files (empty) and tables (text), relative to ROOT/<dir_name>/. */
  files: string[];
  tables?: Record<string, string>;
  rows: number;
  /** Channel files per row (source_files entries), where the merge rule fixes it. */
  channels?: number;
  /** column -> the sorted distinct cleaned values expected over the dataset's rows. */
  labels: Record<string, (string | null)[]>;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function study(title: string, licence: string): string {
  return `# Study\nStudy Title\t${title}\nStudy License\t${licence}\nStudy Publication Title\t${title} paper\nStudy DOI\thttps://doi.org/10.0/x\n`;
}

function rxrx(sub: string, nch: number, header: string, lines: string[]): Pick<Mini, 'files' | 'tables'> {
  const files: string[] = [];
  for (const site of ['HUVEC-01_1_B02_1', 'HUVEC-01_1_B02_2', 'HUVEC-02_3_C10_1']) {
    const [exp, plate, well, s] = site.split('_');
    for (const w of range(nch)) files.push(`${sub}/images/${exp}/Plate${plate}/${well}_s${s}_w${w}.png`);
  }
  return { files, tables: { [`${sub}/metadata.csv`]: [header, ...lines].join('\n') } };
}

const MINIS: Record<string, Mini> = {
  // Recursion: merge 6 (5 for RxRx19a) of {exp}/Plate{plate}/{well}_s{site}_w{1..6}.png; labels from metadata.csv.
  rec_rxrx1: {
    ...rxrx('rxrx1', 6, 'site_id,well_id,cell_type,dataset,experiment,plate,well,site,well_type,sirna,sirna_id', [
      'HUVEC-01_1_B02_1,HUVEC-01_1_B02,HUVEC,train,HUVEC-01,1,B02,1,treatment,s35651,1',
      'HUVEC-01_1_B02_2,HUVEC-01_1_B02,HUVEC,train,HUVEC-01,1,B02,2,treatment,s35651,1',
      'HUVEC-02_3_C10_1,HUVEC-02_3_C10,HUVEC,train,HUVEC-02,3,C10,1,negative_control,EMPTY,1138',
    ]),
    rows: 3,
    channels: 6,
    labels: { sirna: ['empty', 's35651'], cell_type: ['huvec'], organism: ['human'] },
  },
  rec_rxrx2: {
    ...rxrx('rxrx2', 6, 'site_id,well_id,cell_type,experiment,plate,well,site,well_type,treatment,treatment_conc', [
      'HUVEC-01_1_B02_1,HUVEC-01_1_B02,HUVEC,HUVEC-01,1,B02,1,treatment,IFN-gamma,1.0',
      'HUVEC-01_1_B02_2,HUVEC-01_1_B02,HUVEC,HUVEC-01,1,B02,2,treatment,IFN-gamma,1.0',
      'HUVEC-02_3_C10_1,HUVEC-02_3_C10,HUVEC,HUVEC-02,3,C10,1,treatment,IL-27,0.1',
    ]),
    rows: 3,
    channels: 6,
    labels: { compound: ['ifn-gamma', 'il-27'], cell_type: ['huvec'] },
  },
  rec_rxrx19a: {
    ...rxrx(
      'RxRx19a',
      5,
      'site_id,well_id,cell_type,experiment,plate,well,site,disease_condition,treatment,treatment_conc,SMILES',
      [
        'HUVEC-01_1_B02_1,HUVEC-01_1_B02,HRCE,HRCE-1,1,B02,1,Active SARS-CoV-2,Remdesivir,1.0,C',
        'HUVEC-01_1_B02_2,HUVEC-01_1_B02,HRCE,HRCE-1,1,B02,2,Active SARS-CoV-2,Remdesivir,1.0,C',
        'HUVEC-02_3_C10_1,HUVEC-02_3_C10,VERO,VERO-1,3,C10,1,UV Inactivated SARS-CoV-2,,,',
      ],
    ),
    rows: 3,
    channels: 5,
    labels: {
      compound: [null, 'remdesivir'],
      phenotype: ['active sars-cov-2', 'uv inactivated sars-cov-2'],
      cell_type: ['hrce', 'vero'],
    },
  },
  rec_rxrx19b: {
    ...rxrx(
      'rxrx19b',
      6,
      'site_id,well_id,cell_type,experiment,plate,well,site,disease_condition,treatment,treatment_conc,SMILES',
      [
        'HUVEC-01_1_B02_1,HUVEC-01_1_B02,HUVEC,HUVEC-1,1,B02,1,storm-severe,Ravoxertinib,1.0,C',
        'HUVEC-01_1_B02_2,HUVEC-01_1_B02,HUVEC,HUVEC-1,1,B02,2,storm-severe,Ravoxertinib,1.0,C',
        'HUVEC-02_3_C10_1,HUVEC-02_3_C10,HUVEC,HUVEC-1,3,C10,1,healthy,,,',
      ],
    ),
    rows: 3,
    channels: 6,
    labels: { compound: [null, 'ravoxertinib'], cell_type: ['huvec'] },
  },
  // IDR screens and experiments: the study repository (study file, annotation, plates TSV) under ROOT/<dir_name>/.
  idr0093: {
    files: [],
    tables: {
      'idr0093-study.txt': study('siRNA screen for cell size and RNA production', 'CC BY 4.0'),
      'screenA/idr0093-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Characteristics [Cell Line],siRNA Identifier,Gene Symbol\nP1,A1,Homo sapiens,HeLa,s35651,ABC1\nP1,A2,Homo sapiens,HeLa,s7902,DEF2\n',
      'screenA/idr0093-screenA-plates.tsv': 'P1\t/uod/idr/filesets/idr0093/P1\n',
    },
    rows: 2,
    labels: { sirna: ['s35651', 's7902'], cell_type: ['hela'], microscopy: ['confocal'] },
  },
  idr0003: {
    files: [],
    tables: {
      'idr0003-study.txt': study('Plasticity', 'CC BY 4.0'),
      'screenA/idr0003-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Experimental Condition [Growth Condition],Gene Symbol\nP1,A1,Saccharomyces cerevisiae,Starvation,YAL001C\nP2,A1,Saccharomyces cerevisiae,Dithiothreitol,YAL001C\n',
      'screenA/idr0003-screenA-plates.tsv': 'P1\t/uod/P1\nP2\t/uod/P2\n',
    },
    rows: 2,
    labels: { phenotype: ['dithiothreitol', 'starvation'] },
  },
  idr0009: {
    files: [],
    tables: {
      'idr0009-study.txt': study('Early Secretory Pathway', 'CC BY 4.0'),
      'screenA/idr0009-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Characteristics [Cell Line],Gene Symbol,Phenotype 1\nP1,A1,Homo sapiens,HeLa,KIF11,strong inhibition of secretion\nP1,A2,Homo sapiens,HeLa,INCENP,\n',
      'screenA/idr0009-screenA-plates.tsv': 'P1\t/uod/P1\n',
    },
    rows: 2,
    labels: { gene: ['incenp targeted', 'kif11 targeted'], phenotype: [null, 'strong inhibition of secretion'] },
  },
  idr0016: {
    files: [],
    tables: {
      'idr0016-study.txt': study('Compound Profiling', 'CC BY 4.0'),
      'screenA/idr0016-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Characteristics [Cell Line],Compound Name\n24277,a01,Homo sapiens,U2OS,BRD-K18250272\n24277,a02,Homo sapiens,U2OS,DMSO\n',
      'screenA/idr0016-screenA-plates.tsv': '24277\t/uod/24277\n',
    },
    rows: 2,
    labels: { compound: ['brd-k18250272', 'dmso'], cell_type: ['u2os'] },
  },
  idr0017: {
    files: [],
    tables: {
      'idr0017-study.txt': study('Chemical-Genetic Interaction Map', 'CC BY 4.0'),
      'screenA/idr0017-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Characteristics [Cell Line],Compound Name\nP1,A1,Homo sapiens,104-001,Taxol\nP1,A2,Homo sapiens,02-030,DMSO\n',
      'screenA/idr0017-screenA-plates.tsv': 'P1\t/uod/P1\n',
    },
    rows: 2,
    labels: { compound: ['dmso', 'taxol'], cell_type: ['02-030', '104-001'] },
  },
  idr0037: {
    files: [],
    tables: {
      'idr0037-study.txt': study('Variation in Human iPSC lines', 'CC BY 4.0'),
      'screenA/idr0037-screenA-annotation.csv':
        'Plate,Well,Characteristics [Organism],Characteristics [Cell Line]\nP1,A1,Homo sapiens,HPSI0813i-ffdm_3\nP1,A2,Homo sapiens,HPSI0913i-gedo_33\n',
      'screenA/idr0037-screenA-plates.tsv': 'P1\t/uod/P1\n',
    },
    rows: 2,
    labels: { cell_type: ['hpsi0813i-ffdm_3', 'hpsi0913i-gedo_33'] },
  },
  idr0041: {
    files: [],
    tables: {
      'idr0041-study.txt': study('Mitotic Atlas', 'CC BY 4.0'),
      'experimentA/idr0041-experimentA-annotation.csv':
        'Dataset Name,Image Name,Characteristics [Organism],Characteristics [Cell Line],Gene Symbol\nMIS12,cell01.tif,Homo sapiens,HeLa,MIS12\nNEDD1,cell02.tif,Homo sapiens,HeLa,NEDD1\n',
    },
    rows: 2,
    labels: { gene: ['mis12 targeted', 'nedd1 targeted'], microscopy: ['confocal'] },
  },
  idr0067: {
    files: [],
    tables: {
      'idr0067-study.txt': study('Yeast Meiosis', 'CC BY 4.0'),
      'experimentA/idr0067-experimentA-annotation.csv':
        'Dataset Name,Image Name,Characteristics [Organism],Comment [Gene Symbol]\nNup170,a.dv,Saccharomyces cerevisiae,Nup170\nHsp104,b.dv,Saccharomyces cerevisiae,Hsp104\n',
    },
    rows: 2,
    labels: { cell_visible: ['hsp104', 'nup170'] },
  },
  // BBBC022: merge 5 named by the BBBC022_v1_image.csv row, folders BBBC022_v1_images_{PlateID}w{1..5}.
  bbbc022: {
    files: ['A02', 'A03'].flatMap((w) => range(5).map((c) => `BBBC022_v1_images_20585w${c}/IXMtest_${w}_s1_w${c}.tif`)),
    tables: {
      'BBBC022_v1_image.csv': [
        'Image_FileName_OrigER,Image_FileName_OrigHoechst,Image_FileName_OrigMito,Image_FileName_OrigPh_golgi,Image_FileName_OrigSyto,Image_Metadata_PlateID,Image_Metadata_SOURCE_COMPOUND_NAME',
        'IXMtest_A02_s1_w2.tif,IXMtest_A02_s1_w1.tif,IXMtest_A02_s1_w5.tif,IXMtest_A02_s1_w4.tif,IXMtest_A02_s1_w3.tif,20585,Taxol',
        'IXMtest_A03_s1_w2.tif,IXMtest_A03_s1_w1.tif,IXMtest_A03_s1_w5.tif,IXMtest_A03_s1_w4.tif,IXMtest_A03_s1_w3.tif,20585,DMSO',
      ].join('\n'),
    },
    rows: 2,
    channels: 5,
    labels: { compound: ['dmso', 'taxol'], cell_type: ['u2os'] },
  },
  // BBBC017: merge 3 of {stem}{d0|d1|d2}.DIB, one folder per plate.
  bbbc017: {
    files: ['d0', 'd1', 'd2'].flatMap((d) => [
      `BBBC017_v1_images_NIRHTa-001/NIRHTa+001_A01_s1_${d}.DIB`,
      `BBBC017_v1_images_NIRHTa-001/NIRHTa+001_A02_s1_${d}.DIB`,
    ]),
    rows: 2,
    channels: 3,
    labels: { cell_type: ['ht29'], organism: ['human'] },
  },
  bbbc045: {
    files: [
      'Stained_Montages/eosinophil/m1.tif',
      'Stained_Montages/neutrophil/m1.tif',
      'Stained_Montages/b-cell/m2.tif',
    ],
    rows: 3,
    channels: 1,
    labels: { cell_type: ['white blood cell'] },
  },
  bbbc048: {
    files: ['CellCycle/G1/1_Ch3.ome.jpg', 'CellCycle/Prophase/2_Ch3.ome.jpg', 'CellCycle/Telophase/3_Ch4.ome.jpg'],
    rows: 3,
    channels: 1,
    labels: { phenotype: ['g1', 'prophase', 'telophase'], cell_type: ['jurkat'] },
  },
  bbbc051: {
    files: ['Images/tal/1.tif', 'Images/podocyte/2.tif'],
    rows: 2,
    channels: 1,
    labels: { cell_type: ['podocyte', 'tal'], cell_visible: ['nucleus'] },
  },
  bbbc038: {
    files: ['stage1_train/abc/images/abc.png', 'stage1_train/abc/masks/m1.png', 'stage1_test/def/images/def.png'],
    rows: 2,
    channels: 1,
    labels: { organism: ['human|mouse|fly'], cell_visible: ['nucleus'] },
  },
  bbbc020: {
    files: ['BBBC020_v1_images/jw-1h 1/jw-1h 1_c1.TIF', 'BBBC020_v1_images/jw-1h 1/jw-1h 1_c5.TIF'],
    rows: 2,
    channels: 1,
    labels: { cell_type: ['macrophage'], organism: ['mouse'] },
  },
  // BBBC005: one row per channel file, w1 = cell body, w2 = nucleus.
  bbbc005: {
    files: [
      'BBBC005_v1_images/SIMCEPImages_A01_C1_F1_s01_w1.TIF',
      'BBBC005_v1_images/SIMCEPImages_A01_C1_F1_s01_w2.TIF',
    ],
    rows: 2,
    channels: 1,
    labels: { cell_visible: ['cell body', 'nucleus'], channels: ['f_cell_body', 'f_nucleus'] },
  },
  bbbc006: {
    files: ['BBBC006_v1_images_z_16/a01_s1_w1.tif', 'BBBC006_v1_images_z_16/a01_s1_w2.tif'],
    rows: 2,
    channels: 1,
    labels: { cell_visible: ['nucleus'], cell_type: ['u2os'] },
  },
  bbbc014: {
    files: ['BBBC014_v1_images/1-A-A01.BMP', 'BBBC014_v1_images/2-A-A01.BMP'],
    rows: 2,
    channels: 1,
    labels: { cell_visible: ['nucleus'], cell_type: ['mcf7|a549'] },
  },
  bbbc015: {
    files: ['BBBC015_v1_images/B01_w1.JPG', 'BBBC015_v1_images/B01_w2.JPG'],
    rows: 2,
    channels: 1,
    labels: { cell_visible: ['nucleus|cell membrane'] },
  },
  // BBBC025: one row per channel file; the stain from the channel's folder.
  bbbc025: {
    files: [
      '37983_Hoechst/a01_s1.tif',
      '37983_ERSyto/a01_s1.tif',
      '37983_Mito/a01_s1.tif',
      '37983_Ph_golgi/a01_s1.tif',
    ],
    rows: 4,
    channels: 1,
    labels: {
      cell_visible: ['actin|golgi apparatus|plasma membrane', 'er', 'mitochondria', 'nucleus'],
    },
  },
  bbbc026: {
    files: ['BBBC026_v1_images/ADSASS_072612_I09_s1.png'],
    rows: 1,
    channels: 1,
    labels: { cell_type: ['hepatocyte|fibroblast'], organism: ['human|mouse'] },
  },
  bbbc010: {
    files: ['BBBC010_v2_images/1649_A01_w1.tif', 'BBBC010_v2_images/1649_A01_w2.tif'],
    rows: 2,
    channels: 1,
    labels: { organism: ['nematode'] },
  },
  bbbc011: {
    files: ['BBBC011_v1_images/a.png'],
    rows: 1,
    channels: 1,
    labels: { organism: ['nematode'] },
  },
  bbbc012: {
    files: ['BBBC012_v1_images/a.tif'],
    rows: 1,
    channels: 1,
    labels: { organism: ['nematode'] },
  },
  // HPA 2021: four colour files per field; train.csv ID,Label with |-separated codes (spec §2.3).
  kag_hpa_single: {
    files: ['blue', 'red', 'yellow', 'green'].flatMap((c) => [`train/aaa_${c}.png`, `train/bbb_${c}.png`]),
    tables: { 'train.csv': 'ID,Label\naaa,0|14\nbbb,6\n' },
    rows: 2,
    channels: 4,
    labels: { cell_visible: ['er', 'nucleoplasm|mitochondria'] },
  },
  kag_leukemia: {
    files: [
      'C-NMC_Leukemia/training_data/fold_0/all/UID_11_10_1_all.bmp',
      'C-NMC_Leukemia/training_data/fold_0/hem/UID_H10_43_1_hem.bmp',
    ],
    rows: 2,
    channels: 1,
    labels: { phenotype: ['leukemia', 'wildtype'], cell_type: ['red blood cell|white blood cell'] },
  },
};

async function put(root: string, d: string, m: Mini): Promise<void> {
  for (const f of m.files) {
    await mkdir(join(root, d, f, '..'), { recursive: true });
    await writeFile(join(root, d, f), '');
  }
  for (const [f, text] of Object.entries(m.tables ?? {})) {
    await mkdir(join(root, d, f, '..'), { recursive: true });
    await writeFile(join(root, d, f), text);
  }
}

test('registry: every dataset without shared tables ingests from a miniature of its layout (ingest --registry all)', async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, 'root');
    for (const [d, m] of Object.entries(MINIS)) await put(root, d, m);
    const { inputs, skipped } = registryInputs(['all'], root);
    const registry = loadRegistry();
    // The datasets covered by the shared-data tests (registry-shared.test.ts) are absent here and listed.
    const absent = registry.filter((e) => e.in_cytoimagenet && !(e.dir_name in MINIS)).map((e) => e.dir_name);
    assert.deepEqual(
      skipped.map((s) => s.dir_name),
      absent,
    );
    assert.deepEqual(absent, [
      'bbbc013',
      'bbbc041',
      'cil_kinome',
      'idr0021',
      'idr0072',
      'idr0080',
      'idr0081',
      'idr0088',
      'kag_cell_cycle',
      'kag_hpa',
    ]);
    assert.equal(inputs.length + skipped.length, 40);
    const catalog = join(dir, 'c.duckdb');
    await ingestSources(inputs, catalog);
    for (const [d, m] of Object.entries(MINIS)) {
      const rows = await query(catalog, `SELECT * FROM catalog WHERE dir_name = '${d}'`);
      assert.equal(rows.length, m.rows, `${d}: rows`);
      if (m.channels !== undefined) {
        for (const r of rows) {
          assert.equal(String(r.source_files).split('|').length, m.channels, `${d}: channel files of ${r.idx}`);
          assert.equal(r.files_status, 'present', `${d}: ${r.source_files}`);
        }
      }
      for (const [col, want] of Object.entries(m.labels)) {
        const got = [...new Set(rows.map((r) => (r[col] === null ? null : String(r[col]))))].sort((a, b) =>
          a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0,
        );
        assert.deepEqual(got, want, `${d}: ${col}`);
      }
    }
  });
});

test('registry: a dataset named explicitly but missing under the root is an error saying how to get it', async () => {
  await withTempDir(async (dir) => {
    assert.throws(
      () => registryInputs(['rec_rxrx1'], dir),
      (e: Error & { hint?: string }) =>
        /rec_rxrx1 is missing under .*rxrx1\/metadata\.csv/.test(e.message) &&
        /sources show rec_rxrx1/.test(e.hint ?? ''),
    );
    assert.throws(() => registryInputs(['nope'], dir), /no dataset 'nope' in the registry/);
  });
});

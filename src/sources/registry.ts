// Every adapter by name. A new source kind is one file here plus one line below.
import type { Adapter, CommonConfig } from './adapter.js';
import { standardAdapter } from './standard.js';
import { bbbc021Adapter } from './bbbc021.js';
import { idrAdapter } from './idr.js';
import { hpaKaggle2019Adapter } from './hpa-kaggle-2019.js';
import { bbbc041Adapter } from './bbbc041.js';
import { cytoimagenetTableAdapter } from './cytoimagenet-table.js';
import { genericAdapter } from './generic.js';
import { omeZarrPlateAdapter } from './ome-zarr-plate.js';

const ADAPTERS = [
  standardAdapter,
  bbbc021Adapter,
  idrAdapter,
  hpaKaggle2019Adapter,
  bbbc041Adapter,
  cytoimagenetTableAdapter,
  genericAdapter,
  omeZarrPlateAdapter,
] as unknown as Adapter<CommonConfig>[];

export const ADAPTER_NAMES: string[] = ADAPTERS.map((a) => a.name);

export function adapterByName(name: string): Adapter<CommonConfig> | undefined {
  return ADAPTERS.find((a) => a.name === name);
}

export function allAdapters(): readonly Adapter<CommonConfig>[] {
  return ADAPTERS;
}

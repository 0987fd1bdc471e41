// Everything a process needs to read remote sources the way a build does: the fetch settings
// (cache folder and cap, tries, backoff, timeout, requests per host) and the endpoint s3:// entries
// are read through. A local build's workers inherit them through the environment; a distributed
// build's shards carry them to queue workers on other machines (src/release/queue-link.ts), whose
// own `worker --cache` overrides the cache folder.
import { s3Endpoint, setS3Endpoint } from './entry.js';
import { configureFetch, fetchSettings, type FetchSettings } from './http.js';

export interface RemoteReadSettings extends FetchSettings {
  s3Endpoint: string;
}

/** This process's settings. */
export function remoteReadSettings(): RemoteReadSettings {
  return { ...fetchSettings(), s3Endpoint: s3Endpoint() };
}

/** Makes these this process's settings (and, with `exportToEnv`, those of processes it starts later). */
export function applyRemoteReadSettings(s: RemoteReadSettings, exportToEnv = false): void {
  const { s3Endpoint: endpoint, ...fetch } = s;
  setS3Endpoint(endpoint);
  if (exportToEnv) process.env.CYTOIMAGENET_S3_ENDPOINT = endpoint;
  configureFetch(fetch, exportToEnv);
}

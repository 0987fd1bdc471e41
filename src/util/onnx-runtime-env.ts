// onnxruntime-node (1.2x, Linux) starts Microsoft's telemetry client when it creates its
// environment: an empty mat-debug-<pid>.log and a .ses file in the temp folder, and a device id
// plus onnxruntime.db under ~/.cache/Microsoft/DeveloperTools/.onnxruntime, on every run, outside
// any output folder (and events queued for upload). Its documented opt-out is the environment
// variable ORT_DISABLE_TELEMETRY, read when the first session is created, so setting it here,
// before that, is enough. A value the user set is left alone.

export function disableOnnxRuntimeTelemetry(): void {
  if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
}

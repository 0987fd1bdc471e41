// Image file names: `<dir_label>-<i in binary, zero-padded>.png`, as the original named them. The original padded to
// the length of binary(N); we pad to the length of binary(N−1), the largest index actually used,
// so a label of 512 images has 9-digit names and one of 1000 has 10.

/** Digits needed for indices 0..n−1 (at least 1). */
export function binaryWidth(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binaryWidth: invalid count ${n}`);
  return n <= 1 ? 1 : (n - 1).toString(2).length;
}

export function binaryIndex(i: number, n: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`binaryIndex: ${i} outside 0..${n - 1}`);
  return i.toString(2).padStart(binaryWidth(n), '0');
}

export function imageFileName(dirLabel: string, i: number, n: number): string {
  return `${dirLabel}-${binaryIndex(i, n)}.png`;
}

/** Folder of the channel PNGs inside a label's folder (`build --keep-channels`). */
export const CHANNELS_DIR = 'channels';

/** Channel k of an image: `<stem>_c<k>.png`, in `<dir_label>/channels/`. */
export function channelFileName(filename: string, k: number): string {
  return `${filename.replace(/\.png$/, '')}_c${k}.png`;
}

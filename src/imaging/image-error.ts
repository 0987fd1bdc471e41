// An image that cannot be read or standardised: names the file and the decoder's reason.
import { UserError } from '../util/errors.js';

export type ImageErrorKind =
  | 'unreadable'
  | 'not-a-regular-file'
  | 'empty'
  | 'not-an-image'
  | 'truncated'
  | 'too-large'
  | 'bad-page'
  | 'uniform'
  | 'mismatch'
  | 'fetch-failed'
  /** A URL the server says is not there (HTTP 404, 403 or 410): a missing file, as a local one. */
  | 'missing';

export class ImageError extends UserError {
  readonly kind: ImageErrorKind;
  readonly reason: string;

  constructor(file: string, kind: ImageErrorKind, reason: string, hint?: string) {
    super(`cannot standardise image (${kind}): ${reason}`, { file }, hint);
    this.name = 'ImageError';
    this.kind = kind;
    this.reason = reason;
  }
}

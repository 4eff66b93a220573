/** Why a byte sequence is not a valid record batch, or a record cannot be encoded. */
export type LogFormatErrorCode = 'CORRUPT_RECORD_BATCH' | 'CRC_MISMATCH' | 'UNSUPPORTED_COMPRESSION' | 'INVALID_RECORD';

export class LogFormatError extends Error {
  constructor(
    readonly code: LogFormatErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LogFormatError';
  }
}

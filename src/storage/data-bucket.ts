// The data bucket: immutable objects of concatenated record batches, written once, read by byte range.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DATA_PREFIX } from './keys.ts';
import type { AwsClients } from './clients.ts';

export class DataBucket {
  constructor(
    private readonly clients: AwsClients,
    readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    try {
      await this.send(key, body);
    } catch (e) {
      // Keys are unique per request: "already exists" means an earlier attempt of this very PUT landed
      // and only its answer was lost, and the SDK's retry met our own object.
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return;
      throw e;
    }
  }

  private async send(key: string, body: Uint8Array): Promise<void> {
    await this.clients.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.byteLength,
        ContentType: 'application/vnd.kafka.record-batches',
        // Objects are never overwritten: a second PUT of the same key would be a bug, and S3 refuses it.
        IfNoneMatch: '*',
      }),
    );
  }

  /** Bytes [start, end) of an object. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const r = await this.clients.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
    if (!r.Body) throw new Error(`empty body reading ${key}`);
    const bytes = Buffer.from(await r.Body.transformToByteArray());
    if (bytes.length !== end - start) throw new Error(`short read of ${key} [${start}, ${end}): got ${bytes.length} bytes`);
    return bytes;
  }

  /** Deletes an object; deleting one that is already gone succeeds (S3's own semantics). */
  async delete(key: string): Promise<void> {
    await this.clients.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Every data object with its last-modified time, page by page. */
  async *listData(): AsyncGenerator<Array<{ key: string; lastModified: number; size: number }>> {
    let token: string | undefined;
    do {
      const r = await this.clients.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: DATA_PREFIX, ContinuationToken: token, MaxKeys: 1000 }));
      yield (r.Contents ?? []).map((o) => ({ key: o.Key!, lastModified: o.LastModified?.getTime() ?? 0, size: o.Size ?? 0 }));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }
}

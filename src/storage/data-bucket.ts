// The data bucket: immutable objects of concatenated record batches, written once, read by byte range.
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';

/** Keys one DeleteObjects request may name. */
const DELETE_BATCH = 1000;
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

  /**
   * Deletes objects, up to 1,000 per request (S3's DeleteObjects): the garbage collector's way, so it
   * keeps up with one object per produce request. Keys already gone count as deleted; any other
   * per-key error fails the call, naming the key.
   */
  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const slice = keys.slice(i, i + DELETE_BATCH);
      const r = await this.clients.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: slice.map((Key) => ({ Key })), Quiet: true } }));
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`deleting ${failed.length} objects failed, first ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`.trim());
    }
  }

  /**
   * Every data object with its last-modified time, page by page. The listing is S3's ListObjects with a
   * marker (the last key seen): S3 serves it as well as ListObjectsV2, while the S3 emulator builds every
   * V2 continuation token with a cipher that Node's OpenSSL 3 refuses, failing any listing of more than
   * one page.
   */
  async *listData(): AsyncGenerator<Array<{ key: string; lastModified: number; size: number }>> {
    let after: string | undefined;
    for (;;) {
      const r = await this.clients.s3.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: DATA_PREFIX, MaxKeys: 1000, ...(after !== undefined ? { Marker: after } : {}) }));
      const page = (r.Contents ?? []).map((o) => ({ key: o.Key!, lastModified: o.LastModified?.getTime() ?? 0, size: o.Size ?? 0 }));
      yield page;
      if (!r.IsTruncated || page.length === 0) return;
      after = page[page.length - 1]!.key;
    }
  }
}

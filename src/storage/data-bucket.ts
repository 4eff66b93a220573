// The data bucket: immutable objects of concatenated record batches, written once, read by byte range.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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
}

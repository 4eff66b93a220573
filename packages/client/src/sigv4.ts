// SigV4 signing for an IAM-authorized API (API Gateway's `execute-api`, or `lambda` for a Function
// URL), with @smithy/signature-v4 and the AWS SDK's default credential chain.
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256, type AwsCredentials, type FloeAuth } from './floe.ts';

type IamAuth = Extract<FloeAuth, { type: 'iam' }>;

const signers = new WeakMap<IamAuth, SignatureV4>();

async function signerFor(auth: IamAuth): Promise<SignatureV4> {
  let signer = signers.get(auth);
  if (!signer) {
    let credentials = auth.credentials;
    if (!credentials) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      credentials = defaultProvider() as () => Promise<AwsCredentials>;
    }
    signer = new SignatureV4({ service: auth.service ?? 'execute-api', region: auth.region, credentials, sha256: Sha256 });
    signers.set(auth, signer);
  }
  return signer;
}

/** The headers of the request signed for `auth` (host and x-amz-* added). */
export async function signRequest(auth: IamAuth, method: string, url: URL, headers: Record<string, string>, body: string | undefined): Promise<Record<string, string>> {
  const signer = await signerFor(auth);
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    ...(body !== undefined ? { body } : {}),
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
  return out;
}

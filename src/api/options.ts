import type { ConsoleOptions } from '../console/routes.ts';
import type { BodyReader } from './body.ts';

/**
 * Every runtime serves the whole app: in the cloud, API Gateway sends each function only its own
 * routes, and each function's IAM role allows only its own storage calls.
 */
export interface AppOptions {
  /** Where nothing runs after the answer (Lambda), finish acks=0 writes before answering. */
  awaitUnacknowledgedWrites?: boolean;
  /** How this runtime hands over request bodies; fetch's Request body when not given. */
  readBody?: BodyReader;
  /** The web console and its figures over time, where this runtime serves them (`npm start`; the admin function with -c console=true). */
  console?: ConsoleOptions;
}

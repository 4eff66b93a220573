// Lambda entry for the admin routes (API Gateway HTTP API, payload v2, or a Function URL).
import { httpHandler } from './shared/http.ts';

export const handler = httpHandler('admin');
